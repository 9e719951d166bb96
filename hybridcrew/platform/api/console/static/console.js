// Progressive enhancement of the run page: follow the run's event stream and refresh the live
// part of the page from the server (rendered and escaped there). Without it, reload by hand.
(function () {
  "use strict";
  const live = document.getElementById("live");
  if (!live || live.dataset.live !== "yes") { return; }
  const run = live.dataset.run;
  const kinds = ["run_started", "run_resumed", "step_started", "step_queued", "step_finished",
    "tools_called", "verdict", "checks_ran", "waiting", "answered", "run_finished",
    "run_failed", "run_blocked", "run_cancelled"];
  const endings = new Set(["run_finished", "run_failed", "run_blocked", "run_cancelled"]);
  let timer = null;
  function refresh() {
    timer = null;
    fetch("/ui/runs/" + encodeURIComponent(run) + "/live", { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) { if (html !== null) { live.innerHTML = html; } });
  }
  function soon() { if (timer === null) { timer = setTimeout(refresh, 150); } }
  const source = new EventSource("/v1/runs/" + encodeURIComponent(run) + "/events");
  kinds.forEach(function (kind) {
    source.addEventListener(kind, function () {
      soon();
      if (endings.has(kind)) { source.close(); }
    });
  });
}());
