/* Wallboard: the small amount of behaviour htmx does not give us.
 *
 * - the live connection (static/live/connection.js, shared with the agent desktop);
 * - stale fragments are ignored: calls carry their version, panels their render time;
 * - a pushed call that is not on the page yet is added; an ended one is removed;
 * - a pushed agent's row is swapped by id, then moved to its status group (longest in the
 *   status first), and the groups' counts follow;
 * - ticking timers (static/live/timers.js);
 * - "Join" is hidden on calls the viewer is already on (pushes are the same for everyone).
 */
(function () {
  "use strict";

  var viewer = document.body.dataset.viewerAgent || "";
  var state = {
    gone: {},  // call element id -> version at which it ended here
  };
  var SIGNED_OUT = "You have been signed out.";
  var NOT_SUPERVISOR = "This account is not a supervisor.";

  // Connection badge, reconnects, heartbeat and sign-out: static/live/connection.js.
  LiveConnection.start({
    closeMessages: { 4401: { signOut: SIGNED_OUT }, 4403: { signOut: NOT_SUPERVISOR } },
    sessionMessages: { 401: SIGNED_OUT, 403: NOT_SUPERVISOR },
    toast: toast,
    stickyRefusals: false,
  });

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

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
    LiveTimers.refresh();
  }

  function hideOwnJoins() {
    $all("article.wb-call").forEach(function (el) {
      var join = $(".wb-join", el);
      if (!join) return;
      var onIt = viewer && (" " + (el.getAttribute("data-agents") || "") + " ").indexOf(" " + viewer + " ") >= 0;
      join.hidden = !!onIt;
    });
  }

  // --- toast ---------------------------------------------------------------------------------

  var toastTimer = null;
  function toast(html, sticky) {
    var box = $("#toast");
    if (!box) return;
    box.innerHTML = "<p>" + html + "</p>";
    clearTimeout(toastTimer);
    if (!sticky) toastTimer = setTimeout(function () { box.innerHTML = ""; }, 8000);
  }

  afterChange();
})();
