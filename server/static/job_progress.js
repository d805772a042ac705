/* Admin pages: polls the progress of running jobs and updates their <progress> bars;
   the job page reloads (to show the summary) when its job ends. */
(function () {
  "use strict";
  var POLL_MS = 2000;
  if (!window.fetch) { return; }

  function show(box, progress) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".job-progress-text");
    if (bar) {
      if (progress.percent === null || progress.percent === undefined) {
        bar.removeAttribute("value");
      } else {
        bar.value = progress.percent;
        bar.textContent = progress.percent + " %";
      }
    }
    if (text && text.textContent !== progress.text) { text.textContent = progress.text; }
  }

  function watch(box) {
    var url = box.getAttribute("data-progress-url");
    function poll() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (progress) {
          show(box, progress);
          if (progress.active) {
            window.setTimeout(poll, POLL_MS);
          } else if (box.hasAttribute("data-reload-when-done")) {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, POLL_MS * 3); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-progress-url]"), watch);
}());
