// The Talent Copilot's enhancements; every page works without them.
// 1. The drop zone: a resume dropped on it goes into the form's file input.
// 2. The parsing page: polls the status instead of reloading, says the progress in its live region,
//    and moves on to the jobs when the resume is read.
(function () {
  "use strict";

  function dropZone(zone) {
    var input = zone.querySelector("input[type=file]");
    var chosen = zone.querySelector("[data-chosen]");
    function show() {
      if (chosen && input.files.length) { chosen.textContent = input.files[0].name; }
    }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  }

  function pollParsing(panel) {
    var status = panel.querySelector("[data-status]");
    var progress = panel.querySelector("[data-progress]");
    var url = panel.getAttribute("data-status-url");
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.state === "parsing") { window.setTimeout(poll, 700); return; }
          if (progress) { progress.remove(); }
          status.textContent = answer.message;
          panel.setAttribute("data-parsing", answer.state);
          if (answer.state === "done") { window.location.assign(answer.next); return; }
          status.className = "notice bad";
          var next = panel.querySelector("[data-next]");
          if (next) { next.setAttribute("href", answer.next); next.textContent = panel.getAttribute("data-retry"); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 500);
  }

  document.querySelectorAll("[data-dropzone]").forEach(dropZone);
  document.querySelectorAll("[data-parsing=parsing]").forEach(pollParsing);
})();
