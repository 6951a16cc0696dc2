/* Live connection shared by the agent desktop and the wallboard.
 *
 * Wraps the htmx ws extension (`<div id="live" hx-ext="ws" ws-connect=...>`):
 * - the connection badge (#connection: "Connecting…" / "Live" / "Reconnecting…" / down);
 * - capped exponential backoff with jitter, and our own reconnect for the clean closes the
 *   extension does not retry (a server restart, a proxy timing out);
 * - events of a socket that was already replaced are ignored, and the extension may not
 *   retry it either (its late death would replace the healthy successor);
 * - a session check after 3 failed retries, and signing out on the server's refusal codes;
 * - a heartbeat ping; a socket whose ping goes unanswered is replaced;
 * - reconnect when the browser comes back online, resync when the tab is shown again; back
 *   after a while without a connection, a toast says for how long;
 * - the page's own requests: a plain-text refusal goes to the toast, a 401 signs out, and
 *   a request that could not be sent says so.
 *
 * Usage (once per page, from a deferred script loaded after htmx and the ws extension):
 *
 *   var live = LiveConnection.start({
 *     closeMessages: {                       // server close codes that end retrying
 *       4401: { signOut: "You have been signed out." },  // badge "Signed out" + toast
 *       4403: { down: "No agent profile" },              // badge only, with this text
 *     },
 *     sessionMessages: { 401: "You have been signed out." }, // session check statuses
 *     toast: function (html, sticky) { ... },                // the page's toast
 *     stickyRefusals: true,                  // refusals stay until dismissed
 *   });
 *
 * The session check URL and the login link come from <body data-session-url data-login-url>.
 */
(function () {
  "use strict";

  // A silently dead connection (a NAT that forgot it, Wi-Fi gone without a close) is noticed
  // within pingEveryMs + pongWithinMs + checkEveryMs: under 10 s. A ping is a few bytes.
  var DEFAULTS = {
    pingEveryMs: 4000,
    pongWithinMs: 3000,
    checkEveryMs: 1000,
    retriesBeforeSessionCheck: 3,
    // Back after at least this long without a connection, the page says so: what changed
    // meanwhile appears at once, and the agent should know why (a wrap-up already running).
    reconnectNoticeAfterMs: 1000,
  };
  // The extension retries these closes itself; we only add our own reconnect for the others.
  var RETRIED_BY_EXTENSION = [1006, 1011, 1012, 1013];

  // Reconnect with capped exponential backoff and jitter: 0.5 s, 1 s, 2 s ... 30 s.
  function backoff(retry) {
    var base = Math.min(30000, 500 * Math.pow(2, retry));
    return base / 2 + Math.random() * base / 2;
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function start(options) {
    var opts = {};
    Object.keys(DEFAULTS).forEach(function (k) { opts[k] = DEFAULTS[k]; });
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    var closeMessages = opts.closeMessages || {};
    var sessionMessages = opts.sessionMessages || {};
    var toast = opts.toast || function () {};
    var body = document.body;

    var state = {
      socket: null,          // the ws extension's public wrapper
      current: null,         // the newest WebSocket it made
      open: false,
      retries: 0,
      manualReconnect: null, // timer of our own reconnect (for closes the extension ignores)
      lastMessageAt: Date.now(),
      pingSentAt: 0,         // the ping still waiting for an answer, if any
      lastPingAt: 0,
      signedOut: false,
      replacing: false,      // a live socket is being replaced (heartbeat), not first opened
      downSince: 0,          // when the lost connection last brought anything, if lost
    };

    htmx.config.wsReconnectDelay = function (retry) { return backoff(retry); };

    // Remember the newest socket: events of one already replaced must not touch the state.
    var createSocket = htmx.createWebSocket;
    htmx.createWebSocket = function (url) {
      // After a sign-out a retry the extension had already scheduled must not connect:
      // hand it a socket that is closed and never fires.
      if (state.signedOut) return deadSocket();
      state.current = quietErrors(createSocket(url));
      return state.current;
    };
    // A socket that fails is reported by the browser itself, with its reason; the extension
    // would log the error event again, as "[object Event]", at every retry. It still hears
    // of the error (its handler runs, htmx:wsError is sent), only without one to log.
    function quietErrors(socket) {
      var handler = null;
      Object.defineProperty(socket, "onerror", {
        configurable: true,
        get: function () { return handler; },
        set: function (fn) { handler = fn; },
      });
      socket.addEventListener("error", function () { if (handler) handler.call(socket); });
      return socket;
    }
    function deadSocket() {
      return { readyState: 3, OPEN: 1, send: function () {}, close: function () {},
        addEventListener: function () {}, removeEventListener: function () {} };
    }
    // Detach the extension from a socket we are done with: no retry when it closes later.
    function disown(socket) {
      if (socket) socket.onclose = socket.onerror = null;
    }
    function stale(evt) {
      var e = evt.detail && evt.detail.event;
      return !!(e && e.target && state.current && e.target !== state.current);
    }

    function setConnection(kind, text) {
      var box = document.querySelector("#connection");
      if (!box) return;
      box.className = "connection connection--" + kind;
      box.querySelector(".conn-text").textContent = text;
      body.dataset.connection = kind;
    }

    body.addEventListener("htmx:wsConnecting", function () {
      if (state.open || state.signedOut) return;
      var again = state.retries || state.replacing;
      setConnection(again ? "reconnecting" : "connecting", again ? "Reconnecting…" : "Connecting…");
    });

    body.addEventListener("htmx:wsOpen", function (evt) {
      if (stale(evt)) return;
      state.socket = evt.detail.socketWrapper;
      state.open = true;
      state.replacing = false;
      state.retries = 0;
      state.pingSentAt = 0;
      state.lastPingAt = Date.now();
      state.lastMessageAt = Date.now();
      setConnection("live", "Live");
      var lost = state.downSince ? Date.now() - state.downSince : 0;
      state.downSince = 0;
      if (lost && lost >= opts.reconnectNoticeAfterMs) {
        toast(escapeHtml("Reconnected: the connection was lost for " + howLong(lost) +
          ". The page now shows what changed meanwhile."), false);
      }
    });

    function howLong(ms) {
      var seconds = Math.round(ms / 1000);
      if (seconds < 90) return seconds + " s";
      return Math.round(seconds / 60) + " min";
    }
    // The connection counts as lost from the last thing it brought: a silent death is
    // noticed only a heartbeat later.
    function lostConnection() {
      if (!state.downSince) state.downSince = state.lastMessageAt || Date.now();
    }

    body.addEventListener("htmx:wsClose", function (evt) {
      if (stale(evt)) return;
      var code = evt.detail.event ? evt.detail.event.code : 0;
      state.open = false;
      if (state.signedOut) return;
      var refusal = closeMessages[code];
      if (refusal) {
        if (refusal.signOut) return signOut(refusal.signOut);
        return setConnection("down", refusal.down);
      }
      state.retries += 1;
      lostConnection();
      setConnection("reconnecting", "Reconnecting…");
      // A clean close (server restart, a proxy timing out) would otherwise leave the page dead.
      if (RETRIED_BY_EXTENSION.indexOf(code) < 0) scheduleReconnect();
      if (state.retries >= opts.retriesBeforeSessionCheck) checkSession();
    });

    function scheduleReconnect(delay) {
      clearTimeout(state.manualReconnect);
      state.manualReconnect = setTimeout(function () {
        if (state.socket && !state.open && !state.signedOut) state.socket.reconnect();
      }, delay === undefined ? backoff(state.retries) : delay);
    }

    function forceReconnect() {
      if (!state.socket || state.signedOut) return;
      state.open = false;
      state.replacing = true;
      lostConnection();
      setConnection("reconnecting", "Reconnecting…");
      // The silent socket may report its death much later (1006): by then it is not ours.
      disown(state.current);
      state.socket.reconnect();
    }

    function checkSession() {
      fetch(body.dataset.sessionUrl, { credentials: "same-origin" }).then(function (r) {
        var text = sessionMessages[r.status];
        if (text) signOut(text);
      }).catch(function () { /* offline: keep retrying */ });
    }

    function signOut(text) {
      state.signedOut = true;
      clearTimeout(state.manualReconnect);
      disown(state.current);
      if (state.current && state.current.readyState <= 1) state.current.close();
      var live = document.querySelector("#live");
      if (live) live.remove();
      setConnection("down", "Signed out");
      // What the page shows is no longer kept up to date, and every press would be refused:
      // no control works until the agent logs in again (the toast's link).
      Array.prototype.forEach.call(
        body.querySelectorAll("button, input, select, textarea"),
        function (el) { if (!el.closest("#toast")) el.disabled = true; }
      );
      toast(escapeHtml(text) + ' <a href="' + body.dataset.loginUrl + '">Log in again</a>.', true);
      body.dispatchEvent(new CustomEvent("live:signed-out"));
    }

    // Heartbeat: a socket whose ping went unanswered (laptop sleep, a dead NAT) is replaced.
    // Judged from the last ping, not the clock alone: background tabs run timers rarely.
    setInterval(function () {
      if (!state.open || !state.socket) return;
      var now = Date.now();
      if (state.pingSentAt) {
        if (state.lastMessageAt >= state.pingSentAt) {
          state.pingSentAt = 0;  // answered (or anything at all came in)
        } else if (now - state.pingSentAt > opts.pongWithinMs) {
          state.pingSentAt = 0;
          return forceReconnect();
        }
      }
      if (!state.pingSentAt && now - state.lastPingAt >= opts.pingEveryMs) {
        state.pingSentAt = state.lastPingAt = now;
        state.socket.send(JSON.stringify({ type: "ping" }));
      }
    }, opts.checkEveryMs);

    window.addEventListener("online", function () {
      if (!state.open) scheduleReconnect(0);
    });
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) return;
      if (state.open && state.socket) state.socket.send(JSON.stringify({ type: "resync" }));
      else scheduleReconnect(0);
    });

    function refused(evt) {
      var xhr = evt.detail.xhr;
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("text/plain") === 0) toast(escapeHtml(xhr.responseText), !!opts.stickyRefusals);
      if (xhr.status === 401 && sessionMessages[401]) signOut(sessionMessages[401]);
    }
    // A 4xx is an answer that says why (base.html's htmx config names it "live:refused"),
    // not an error for the console; a 5xx still is one.
    body.addEventListener("live:refused", refused);
    body.addEventListener("htmx:responseError", refused);
    body.addEventListener("htmx:sendError", function () {
      toast("The server cannot be reached. Your action was not sent; try again in a moment.", true);
    });

    body.addEventListener("htmx:wsBeforeMessage", function () {
      state.lastMessageAt = Date.now();
    });

    return {
      signOut: signOut,
      isOpen: function () { return state.open; },
      isSignedOut: function () { return state.signedOut; },
      // Ask the server for the complete current state again.
      resync: function () {
        if (state.open && state.socket) state.socket.send(JSON.stringify({ type: "resync" }));
      },
    };
  }

  window.LiveConnection = { start: start };
})();
