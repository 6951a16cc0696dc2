/* Ticking timers shared by the agent desktop and the wallboard.
 *
 * Elements with `data-since` show the time elapsed since then; elements with `data-until`
 * count down to then. Both are corrected for the server's clock, which arrives in
 * `#heartbeat[data-server-now]` with the page, every full state and every pong.
 *
 * Usage: call `LiveTimers.refresh()` after every swap. The timers are read five times a
 * second and redrawn only when their text changes: ticking once a second, two pages (the
 * desktop and the wallboard side by side) each showed the second of their own last tick,
 * so the same caller's wait could read a second apart.
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
      if (since) show(el, fmt((now - since) / 1000));
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (until) show(el, fmt(Math.ceil((until - now) / 1000)));
    });
  }

  function show(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  window.LiveTimers = {
    refresh: function () { readClock(); tick(); },
  };
  setInterval(tick, 200);
})();
