// The status page's charts: reads /admin/status.json every 5 seconds and draws each series
// as a line in its SVG. No library, no inline script or style (the CSP allows neither).
(function () {
  "use strict";
  var section = document.getElementById("status");
  if (!section) { return; }
  var source = section.getAttribute("data-source");
  var updated = document.getElementById("status-updated");

  function shown(value, unit) {
    var text = value >= 100 ? Math.round(value).toString() : (Math.round(value * 10) / 10).toString();
    return unit ? text + " " + unit : text;
  }

  function draw(points) {
    var charts = section.querySelectorAll("figure[data-series]");
    Array.prototype.forEach.call(charts, function (chart) {
      var series = chart.getAttribute("data-series");
      var values = points.map(function (point) { return Number(point[series]) || 0; });
      // One point so far: a level line across the chart rather than a dot nobody sees.
      var drawn = values.length === 1 ? [values[0], values[0]] : values;
      var highest = Math.max.apply(null, values.concat([1]));
      var step = drawn.length > 1 ? 300 / (drawn.length - 1) : 300;
      var line = drawn.map(function (value, index) {
        var x = drawn.length > 1 ? index * step : 300;
        var y = 78 - (value / highest) * 74;
        return x.toFixed(1) + "," + y.toFixed(1);
      }).join(" ");
      chart.querySelector("polyline").setAttribute("points", line);
      var now = values.length ? values[values.length - 1] : 0;
      chart.querySelector(".chart-now").textContent = shown(now, chart.getAttribute("data-unit"));
      chart.dataset.drawn = String(values.length);
    });
  }

  function refresh() {
    fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (data) {
        draw(data.points);
        updated.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
      })
      .catch(function (error) {
        updated.textContent = "Could not refresh (" + error.message + "); trying again.";
      });
  }

  refresh();
  setInterval(refresh, 5000);
}());
