/* Job page: polls the job's progress and updates its <progress> bar; reloads when the job ends. */
(function () {
  "use strict";
  var POLL_MS = 2000;
  var box = document.querySelector("[data-progress-url]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector(".job-progress-text");

  function show(progress) {
    if (progress.percent === null || progress.percent === undefined) {
      bar.removeAttribute("value");
    } else {
      bar.value = progress.percent;
      bar.textContent = progress.percent + " %";
    }
    if (text.textContent !== progress.text) { text.textContent = progress.text; }
  }

  function poll() {
    fetch(box.getAttribute("data-progress-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (progress) {
        show(progress);
        if (progress.active) { window.setTimeout(poll, POLL_MS); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 3); });
  }

  window.setTimeout(poll, POLL_MS);
}());
