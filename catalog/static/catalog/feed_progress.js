// The feed import page: follow the import's progress until it is done (no page reloads).
// The admin loads its media scripts in the head: start once the page is parsed.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const box = document.querySelector(".feed-progress[data-progress-url]");
  if (!box) return;
  const bar = box.querySelector("progress");
  const text = box.querySelector(".feed-progress-text");
  let polls = 0;
  async function poll() {
    polls += 1;
    try {
      const answer = await fetch(box.dataset.progressUrl, { credentials: "same-origin" });
      if (!answer.ok) return;
      const state = await answer.json();
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
      text.textContent = state.text;
      if (state.done) {
        window.location.reload(); // the counts and row errors, now final
        return;
      }
    } catch (error) {
      // a dropped request: try again at the next tick
    }
    if (polls < 3600) window.setTimeout(poll, 1000);
  }
  if (!box.dataset.done) poll();
});
