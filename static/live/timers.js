/* Ticking timers shared by the agent desktop and the wallboard.
 *
 * Elements with `data-since` show the time elapsed since then; elements with `data-until`
 * count down to then. Both are corrected for the server's clock, which arrives in
 * `#heartbeat[data-server-now]` with the page, every full state and every pong.
 *
 * Usage: call `LiveTimers.refresh()` after every swap; the timers tick once a second.
 */
(function () {
  "use strict";

  var clockOffset = 0;  // server time minus browser time, ms
  var clockSeen = "";

  // Read each server time once, when it is fresh.
  function readClock() {
    var hb = document.getElementById("heartbeat");
    var raw = hb && hb.getAttribute("data-server-now");
    if (!raw || raw === clockSeen) return;
    clockSeen = raw;
    var at = Date.parse(raw);
    if (at) clockOffset = at - Date.now();
  }

  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    var now = Date.now() + clockOffset;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (since) el.textContent = fmt((now - since) / 1000);
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (until) el.textContent = fmt(Math.ceil((until - now) / 1000));
    });
  }

  window.LiveTimers = {
    refresh: function () { readClock(); tick(); },
  };
  setInterval(tick, 1000);
})();
