// Live progress: poll api/jobs and update the rows in place; reload when jobs appear or finish.
(function () {
  "use strict";
  var FAST_MS = 2000, SLOW_MS = 15000;

  function rowsById() {
    var rows = {};
    document.querySelectorAll("tr[data-batch]").forEach(function (row) { rows[row.dataset.batch] = row; });
    return rows;
  }

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node && node.textContent !== text) { node.textContent = text; }
  }

  function progressText(job) {
    var text = job.rows_processed + " / " + job.total_rows + " rows · " + job.percent + "%";
    return job.rows_failed ? text + " · " + job.rows_failed + " failed" : text;
  }

  function update(data) {
    var rows = rowsById();
    var needReload = data.jobs.length !== Object.keys(rows).length;
    data.jobs.forEach(function (job) {
      var row = rows[job.batch_id];
      if (!row) { needReload = true; return; }
      var wasRunning = row.querySelector(".fill.running") !== null;
      if (wasRunning && !job.running) { needReload = true; }  // new links (output, failures) to show
      row.querySelector(".fill.ok").style.width = job.percent_succeeded + "%";
      row.querySelector(".fill.failed").style.width = job.percent_failed + "%";
      row.querySelector(".bar").setAttribute("aria-valuenow", job.percent);
      setText(row, "[data-field=progress]", progressText(job));
      ["success_rate", "rows_per_hour", "seconds_per_row", "elapsed", "status"].forEach(function (field) {
        setText(row, "[data-field=" + field + "]", String(job[field]));
      });
    });
    Object.keys(data.overview).forEach(function (key) {
      document.querySelectorAll("[data-overview=" + key + "]").forEach(function (node) {
        node.textContent = String(data.overview[key]);
      });
    });
    var stamp = document.getElementById("refreshed");
    if (stamp) { stamp.textContent = "Updated " + new Date().toLocaleTimeString() + "."; }
    if (needReload) { window.location.reload(); }
    return data.overview.active_jobs > 0 ? FAST_MS : SLOW_MS;
  }

  function poll() {
    fetch("api/jobs", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(update)
      .catch(function () { return SLOW_MS; })
      .then(function (delay) { window.setTimeout(poll, delay); });
  }

  var active = document.querySelector(".fill.running") !== null;
  window.setTimeout(poll, active ? FAST_MS : SLOW_MS);
})();
