// The fidelity slider says where it stands: its value and the nearest labelled stop.
(function () {
  const slider = document.getElementById("id_fidelity");
  const output = document.getElementById("fidelity-output");
  if (!slider || !output) return;
  const stops = JSON.parse(document.getElementById("fidelity-stops-data").textContent);
  function show() {
    const value = Number(slider.value);
    const nearest = stops.reduce((a, b) => (Math.abs(b[0] - value) < Math.abs(a[0] - value) ? b : a));
    output.textContent = `${value.toFixed(2)} · ${nearest[1]}`;
    slider.setAttribute("aria-valuetext", output.textContent);
  }
  slider.addEventListener("input", show);
  show();
})();
