/* Wallboard: the small amount of behaviour htmx does not give us.
 *
 * - connection state ("Live" / "Reconnecting…"), backoff, heartbeat, resync after sleep
 *   (the same behaviour as the agent desktop);
 * - stale fragments are ignored: calls carry their version, panels their render time;
 * - a pushed call that is not on the page yet is added; an ended one is removed;
 * - a pushed agent's row is swapped by id, then moved to its status group (longest in the
 *   status first), and the groups' counts follow;
 * - ticking timers, corrected for the server's clock;
 * - "Join" is hidden on calls the viewer is already on (pushes are the same for everyone).
 */
(function () {
  "use strict";

  var HEARTBEAT_MS = 20000;
  var STALE_AFTER_MS = 45000;
  var viewer = document.body.dataset.viewerAgent || "";
  var state = {
    socket: null,
    open: false,
    retries: 0,
    manualReconnect: null,
    lastMessageAt: Date.now(),
    clockOffset: 0,
    signedOut: false,
    gone: {},  // call element id -> version at which it ended here
  };

  function backoff(retry) {
    var base = Math.min(30000, 500 * Math.pow(2, retry));
    return base / 2 + Math.random() * base / 2;
  }
  htmx.config.wsReconnectDelay = function (retry) { return backoff(retry); };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // --- connection --------------------------------------------------------------------------

  function setConnection(kind, text) {
    var box = $("#connection");
    if (!box) return;
    box.className = "connection connection--" + kind;
    $(".conn-text", box).textContent = text;
    document.body.dataset.connection = kind;
  }

  document.body.addEventListener("htmx:wsConnecting", function () {
    if (!state.open) setConnection(state.retries ? "reconnecting" : "connecting",
      state.retries ? "Reconnecting…" : "Connecting…");
  });

  document.body.addEventListener("htmx:wsOpen", function (evt) {
    state.socket = evt.detail.socketWrapper;
    state.open = true;
    state.retries = 0;
    state.lastMessageAt = Date.now();
    setConnection("live", "Live");
  });

  document.body.addEventListener("htmx:wsClose", function (evt) {
    var code = evt.detail.event ? evt.detail.event.code : 0;
    state.open = false;
    if (state.signedOut) return;
    if (code === 4401) return signedOut("You have been signed out.");
    if (code === 4403) return signedOut("This account is not a supervisor.");
    state.retries += 1;
    setConnection("reconnecting", "Reconnecting…");
    // The extension retries abnormal closes itself; a clean close (server restart, a proxy
    // timing out) would otherwise leave the page dead.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0) scheduleReconnect();
    if (state.retries >= 3) checkSession();
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
    setConnection("reconnecting", "Reconnecting…");
    state.socket.reconnect();
  }

  function checkSession() {
    fetch(document.body.dataset.sessionUrl, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) signedOut("You have been signed out.");
      else if (r.status === 403) signedOut("This account is not a supervisor.");
    }).catch(function () { /* offline: keep retrying */ });
  }

  function signedOut(text) {
    state.signedOut = true;
    var live = $("#live");
    if (live) live.remove(); // stops the extension's retries
    setConnection("down", "Signed out");
    toast(escapeHtml(text) + ' <a href="' + document.body.dataset.loginUrl + '">Log in again</a>.', true);
  }

  setInterval(function () {
    if (!state.open || !state.socket) return;
    if (Date.now() - state.lastMessageAt > STALE_AFTER_MS) return forceReconnect();
    state.socket.send(JSON.stringify({ type: "ping" }));
  }, HEARTBEAT_MS);

  window.addEventListener("online", function () {
    if (!state.open) scheduleReconnect(0);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    if (state.open && state.socket) state.socket.send(JSON.stringify({ type: "resync" }));
    else scheduleReconnect(0);
  });

  document.body.addEventListener("htmx:wsBeforeMessage", function () {
    state.lastMessageAt = Date.now();
  });

  // --- fragments: stale copies, new and ended calls -----------------------------------------

  function num(el, attr) {
    var v = el && el.getAttribute && el.getAttribute(attr);
    return v === null || v === undefined || v === "" ? null : Number(v);
  }

  // A call is newer by version; a panel by when the server rendered it.
  function isStale(incoming) {
    if (!incoming || !incoming.id) return false;
    var attr = incoming.id.indexOf("wb-call-") === 0 ? "data-version"
      : incoming.hasAttribute("data-rendered") ? "data-rendered" : null;
    if (!attr) return false;
    var current = document.getElementById(incoming.id);
    var a = num(current, attr), b = num(incoming, attr);
    return a !== null && b !== null && b < a;
  }

  function incomingOf(evt) {
    var fragment = evt.detail.fragment;
    // outerHTML swaps hand over a fragment holding the element; other styles the element.
    return fragment && fragment.nodeType === 11 ? fragment.firstElementChild : fragment;
  }

  document.body.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var incoming = incomingOf(evt);
    if (incoming && isStale(incoming)) {
      evt.detail.shouldSwap = false;
      return;
    }
    if (incoming && incoming.hasAttribute && incoming.hasAttribute("data-deleted")) {
      state.gone[incoming.id] = num(incoming, "data-version") || 0;
    }
  });

  // A pushed call (or agent) that is not on the page yet: add it, unless it already ended here.
  document.body.addEventListener("htmx:oobErrorNoTarget", function (evt) {
    var el = evt.detail.content;
    if (el && el.tagName === "LI" && el.classList.contains("wb-agent")) return addAgent(el);
    if (!el || el.tagName !== "ARTICLE" || !el.classList.contains("wb-call")) return;
    if (el.hasAttribute("data-deleted")) return;
    var ended = state.gone[el.id];
    if (ended !== undefined && (num(el, "data-version") || 0) <= ended) return;
    var list = $("#wb-calls");
    if (!list) return;
    list.appendChild(el);
    htmx.process(el);
    afterChange();
  });

  // Answers to the buttons: a stale call is not swapped, but its message is kept.
  document.body.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || !target.id) return;
    var tpl = document.createElement("template");
    tpl.innerHTML = evt.detail.serverResponse || "";
    var incoming = tpl.content.firstElementChild;
    if (incoming && incoming.id === target.id && isStale(incoming)) {
      evt.detail.shouldSwap = false;
      var err = incoming.querySelector(".call-error");
      if (!err || !err.textContent.trim()) return;
      var slot = target.querySelector(".call-error");
      if (slot) slot.innerHTML = err.innerHTML;
      else target.appendChild(err);
    }
  });

  // A plain-text refusal (401/403/404 without a fragment) goes to the toast.
  document.body.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/plain") === 0) toast(escapeHtml(xhr.responseText), false);
    if (xhr.status === 401) signedOut("You have been signed out.");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The server cannot be reached. Your action was not sent; try again in a moment.", true);
  });

  document.body.addEventListener("htmx:afterSettle", afterChange);
  document.body.addEventListener("htmx:wsAfterMessage", afterChange);
  document.body.addEventListener("htmx:oobAfterSwap", function () { setTimeout(afterChange, 0); });

  // --- agents: each row in its status group --------------------------------------------------

  function addAgent(el) {
    if (el.hasAttribute("data-deleted")) return;
    var list = $("#wb-group-" + el.getAttribute("data-status") + " .wb-agent-list");
    if (!list) return;
    list.appendChild(el);
    htmx.process(el);
    afterChange();
  }

  function agentPk(row) { return Number(row.id.replace("wb-agent-", "")) || 0; }

  function byOrder(a, b) {
    return ((num(a, "data-order") || 0) - (num(b, "data-order") || 0)) || (agentPk(a) - agentPk(b));
  }

  // A row is swapped where it was; move it to its group, in order, and recount.
  function arrangeAgents() {
    var panel = $("#wb-agents");
    if (!panel) return;
    $all("li.wb-agent", panel).forEach(function (row) {
      var list = $("#wb-group-" + row.getAttribute("data-status") + " .wb-agent-list", panel);
      if (list && row.parentNode !== list) list.appendChild(row);
    });
    $all(".wb-group", panel).forEach(function (group) {
      var list = $(".wb-agent-list", group);
      if (!list) return;
      var rows = $all(":scope > li.wb-agent", list);
      var sorted = rows.slice().sort(byOrder);
      if (sorted.some(function (row, i) { return row !== rows[i]; })) {
        sorted.forEach(function (row) { list.appendChild(row); });
      }
      var count = $(".wb-count", group);
      if (count && count.textContent !== String(rows.length)) {
        count.textContent = String(rows.length);
        count.setAttribute("aria-label", rows.length + " agents");
      }
      list.hidden = !rows.length;
      var nobody = $(".wb-nobody", group);
      if (nobody) nobody.hidden = rows.length > 0;
    });
  }

  function afterChange() {
    readClock();
    arrangeAgents();
    var list = $("#wb-calls");
    if (list) {
      var calls = list.querySelector("article.wb-call");
      var empty = $("#wb-no-calls");
      if (calls && empty) empty.remove();
      if (!calls && !empty) {
        list.insertAdjacentHTML("beforeend", '<p class="empty" id="wb-no-calls">No calls in progress.</p>');
      }
    }
    hideOwnJoins();
    tick();
  }

  function hideOwnJoins() {
    $all("article.wb-call").forEach(function (el) {
      var join = $(".wb-join", el);
      if (!join) return;
      var onIt = viewer && (" " + (el.getAttribute("data-agents") || "") + " ").indexOf(" " + viewer + " ") >= 0;
      join.hidden = !!onIt;
    });
  }

  // --- timers --------------------------------------------------------------------------------

  function readClock() {
    var hb = $("#heartbeat");
    var at = hb && Date.parse(hb.getAttribute("data-server-now"));
    if (at) state.clockOffset = at - Date.now();
  }

  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    var now = Date.now() + state.clockOffset;
    $all("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (since) el.textContent = fmt((now - since) / 1000);
    });
    $all("[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (until) el.textContent = fmt(Math.ceil((until - now) / 1000));
    });
  }
  setInterval(tick, 1000);

  // --- toast ---------------------------------------------------------------------------------

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }
  var toastTimer = null;
  function toast(html, sticky) {
    var box = $("#toast");
    if (!box) return;
    box.innerHTML = "<p>" + html + "</p>";
    clearTimeout(toastTimer);
    if (!sticky) toastTimer = setTimeout(function () { box.innerHTML = ""; }, 8000);
  }

  readClock();
  afterChange();
})();
