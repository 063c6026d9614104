// Follows a create job: moves its progress bar per denoising step, then swaps in the
// server-rendered concept tiles (one template for the tiles, with or without JavaScript).
(function () {
  const FINISHED = ["succeeded", "failed", "cancelled"];
  document.querySelectorAll("[data-job-status-url]").forEach(function (box) {
    const bar = box.querySelector("progress");
    const label = box.querySelector("[data-job-status]");
    const error = box.querySelector("[data-job-error]");
    const tiles = document.getElementById(box.dataset.tilesTarget);
    async function poll() {
      let job;
      try {
        job = await (await fetch(box.dataset.jobStatusUrl, {credentials: "same-origin"})).json();
      } catch (err) {
        setTimeout(poll, 1500);  // a dropped request: try again, a little later
        return;
      }
      if (!FINISHED.includes(job.status)) {
        bar.value = job.progress;
        label.textContent = job.status;
        setTimeout(poll, 400);
        return;
      }
      // The tiles first, then the final status: "succeeded" means they are on the page.
      const html = await (await fetch(box.dataset.tilesUrl, {credentials: "same-origin"})).text();
      tiles.innerHTML = html;
      box.querySelectorAll("form.job-cancel").forEach(function (form) { form.remove(); });
      if (job.error) { error.textContent = job.error; error.hidden = false; }
      bar.value = job.progress;
      label.textContent = job.status;
    }
    if (!FINISHED.includes(label.textContent.trim().toLowerCase())) poll();
  });
})();
