// The export's progress on the index: asks /export_posts every 2 seconds while an export is
// queued, running or waiting to retry. No inline script or style (the CSP allows neither).
(function () {
  "use strict";
  var section = document.getElementById("export");
  if (!section) { return; }
  var source = section.getAttribute("data-source");
  var status = section.querySelector(".export-status");
  var bar = section.querySelector(".export-progress");

  function show(data) {
    section.dataset.status = data.status;
    status.textContent = data.message;
    if (data.status === "none") { return; }
    bar.hidden = data.status === "dead";
    bar.value = data.progress;
    bar.textContent = data.progress + "%";
  }

  function refresh() {
    fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.pending) { setTimeout(refresh, 2000); }
      })
      .catch(function () { setTimeout(refresh, 10000); });
  }

  refresh();
}());
