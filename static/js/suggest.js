// Query suggestions for every search box with data-suggest (the URL of /api/v1/suggest/):
// the ARIA combobox pattern, so that the keyboard and screen readers can use it. Without
// JavaScript the box is a plain search form.
(function () {
  "use strict";
  const DELAY_MS = 120; // wait for a pause in typing
  const MIN_TYPED = 2;
  const KINDS = { query: "popular search", category: "category", brand: "brand", word: "" };

  document.querySelectorAll("input[data-suggest]").forEach(setUp);

  function setUp(input) {
    const list = document.createElement("ul");
    list.id = input.id + "-suggestions";
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    const status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.after(list, status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.autocomplete = "off";
    let timer = null;
    let active = -1;
    let pending = null;

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      const options = list.querySelectorAll("[role=option]");
      if (event.key === "ArrowDown" && options.length) {
        event.preventDefault();
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        highlight(options, (active + 1) % options.length);
      } else if (event.key === "ArrowUp" && options.length) {
        event.preventDefault();
        highlight(options, (active - 1 + options.length) % options.length);
      } else if (event.key === "Enter" && active >= 0 && !list.hidden) {
        event.preventDefault();
        choose(options[active].dataset.text);
      } else if (event.key === "Escape") {
        close();
      }
    });
    // A click on a suggestion lands before the box loses focus.
    input.addEventListener("blur", function () {
      setTimeout(close, 150);
    });
    list.addEventListener("mousedown", function (event) {
      const option = event.target.closest("[role=option]");
      if (option) {
        event.preventDefault();
        choose(option.dataset.text);
      }
    });

    async function fetchSuggestions() {
      const typed = input.value.trim();
      if (typed.length < MIN_TYPED) {
        close();
        return;
      }
      if (pending) pending.abort();
      pending = new AbortController();
      try {
        const response = await fetch(input.dataset.suggest + "?q=" + encodeURIComponent(typed), {
          signal: pending.signal,
          headers: { Accept: "application/json" },
        });
        if (!response.ok) {
          close();
          return;
        }
        show((await response.json()).suggestions);
      } catch (error) {
        if (error.name !== "AbortError") close();
      }
    }

    function show(suggestions) {
      active = -1;
      input.removeAttribute("aria-activedescendant");
      list.replaceChildren(
        ...suggestions.map(function (suggestion, index) {
          const option = document.createElement("li");
          option.id = list.id + "-" + index;
          option.setAttribute("role", "option");
          option.setAttribute("aria-selected", "false");
          option.dataset.text = suggestion.text;
          option.textContent = suggestion.text;
          if (KINDS[suggestion.kind]) {
            const kind = document.createElement("span");
            kind.className = "suggestion-kind";
            kind.textContent = " " + KINDS[suggestion.kind];
            option.append(kind);
          }
          return option;
        })
      );
      const open = suggestions.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", String(open));
      status.textContent = open ? suggestions.length + " suggestions" : "";
    }

    function highlight(options, index) {
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", String(i === index));
      });
      active = index;
      input.setAttribute("aria-activedescendant", options[index].id);
    }

    function choose(text) {
      input.value = text;
      close();
      input.form.requestSubmit();
    }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
  }
})();
