/* Wallboard: the small amount of behaviour htmx does not give us.
 *
 * - the live connection (static/live/connection.js, shared with the agent desktop);
 * - stale fragments are ignored: calls carry their version, panels their render time
 *   (static/live/page.js, shared with the agent desktop, as are the toast and placeholders);
 * - a pushed call that is not on the page yet is added; an ended one is removed;
 * - a pushed agent's row is swapped by id, then moved to its status group (longest in the
 *   status first), and the groups' counts follow: a group that lists all its agents counts
 *   its rows, at once; only one that could not list them all counts from the figures;
 * - ticking timers (static/live/timers.js);
 * - "Join" is hidden on calls the viewer is already on (pushes are the same for everyone);
 * - a big floor: the board lists the oldest calls and the first agents of each status only
 *   (data-limit); pushed calls and rows beyond those are not added, the "and N more" lines
 *   follow the figures' true counts (only once a list could not list them all), and a slot
 *   freed by an ended call is refilled by a resync.
 */
(function () {
  "use strict";

  var viewer = document.body.dataset.viewerAgent || "";
  var state = {
    gone: {},  // call element id -> version at which it ended here
  };
  var SIGNED_OUT = "You have been signed out.";
  var NOT_SUPERVISOR = "This account is not a supervisor.";
  var $ = LivePage.$, $all = LivePage.$all, num = LivePage.num;

  // Connection badge, reconnects, heartbeat and sign-out: static/live/connection.js.
  var live = LiveConnection.start({
    closeMessages: { 4401: { signOut: SIGNED_OUT }, 4403: { signOut: NOT_SUPERVISOR } },
    sessionMessages: { 401: SIGNED_OUT, 403: NOT_SUPERVISOR },
    toast: LivePage.toaster({ ms: 8000 }),
    stickyRefusals: false,
  });

  // --- fragments: stale copies, new and ended calls -----------------------------------------

  // A call is newer by version; a panel by when the server rendered it.
  function isStale(incoming) {
    if (!incoming.id) return false;
    var attr = incoming.id.indexOf("wb-call-") === 0 ? "data-version"
      : incoming.hasAttribute("data-rendered") ? "data-rendered" : null;
    return !!attr && LivePage.olderThanShown(incoming, attr);
  }

  // Pushes and the buttons' answers (static/live/page.js); an ended call is remembered.
  LivePage.skipStale({
    isStale: isStale,
    ours: function () { return true; },
    answerOf: function (target, content) {
      var incoming = content.firstElementChild;
      return incoming && incoming.id === target.id ? incoming : null;
    },
    appendMessage: true,
    onPush: function (incoming, stale) {
      if (!stale && incoming && incoming.hasAttribute && incoming.hasAttribute("data-deleted")) {
        state.gone[incoming.id] = num(incoming, "data-version") || 0;
      }
    },
  });

  // A pushed call (or agent) that is not on the page yet goes into its list, unless it
  // already ended here or the list is full (it is counted, not listed); else nowhere.
  LivePage.placeNewcomers(function (el) {
    if (el.hasAttribute("data-deleted")) return null;
    if (el.tagName === "LI" && el.classList.contains("wb-agent")) {
      var group = $("#wb-group-" + el.getAttribute("data-status") + " .wb-agent-list");
      var full = group && $all(":scope > li.wb-agent", group).length >= limitOf($("#wb-agents"));
      if (full) notAllListed(group);
      return group && !full ? group : null;
    }
    if (el.tagName !== "ARTICLE" || !el.classList.contains("wb-call")) return null;
    var ended = state.gone[el.id];
    if (ended !== undefined && (num(el, "data-version") || 0) <= ended) return null;
    var list = $("#wb-calls");
    if (!list) return null;
    if (calls().length < limitOf(list)) return list;
    notAllCallsListed(list);
    return null;
  });

  // Should one still find no place (a swap the stand-ins did not see), add it here.
  document.body.addEventListener("htmx:oobErrorNoTarget", function (evt) {
    var el = evt.detail.content;
    if (el && el.tagName === "LI" && el.classList.contains("wb-agent")) return addAgent(el);
    if (!el || el.tagName !== "ARTICLE" || !el.classList.contains("wb-call")) return;
    if (el.hasAttribute("data-deleted")) return;
    var ended = state.gone[el.id];
    if (ended !== undefined && (num(el, "data-version") || 0) <= ended) return;
    var list = $("#wb-calls");
    if (!list) return;
    if (calls().length >= limitOf(list)) {  // counted, not listed
      notAllCallsListed(list);
      return afterChange();
    }
    LivePage.append(list, el);
    afterChange();
  });

  function limitOf(el) { return num(el, "data-limit") || Infinity; }
  // The list was full when a call came: from now on (until it is known to list them all
  // again) some live calls are counted, not listed.
  function notAllCallsListed(list) { list.setAttribute("data-not-all-listed", ""); }
  function calls() { return $all("#wb-calls > article.wb-call"); }

  LivePage.afterEveryChange(afterChange);

  // --- agents: each row in its status group --------------------------------------------------

  function addAgent(el) {
    if (el.hasAttribute("data-deleted")) return;
    var list = $("#wb-group-" + el.getAttribute("data-status") + " .wb-agent-list");
    if (!list) return;
    if ($all(":scope > li.wb-agent", list).length >= limitOf($("#wb-agents"))) {
      notAllListed(list);
      return afterChange();
    }
    LivePage.append(list, el);
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
    var limit = limitOf(panel);
    $all("li.wb-agent", panel).forEach(function (row) {
      var list = $("#wb-group-" + row.getAttribute("data-status") + " .wb-agent-list", panel);
      if (!list || row.parentNode === list) return;
      if ($all(":scope > li.wb-agent", list).length >= limit) {
        row.remove();  // counted only
        notAllListed(list);
      } else list.appendChild(row);
    });
    var totals = agentTotals();
    $all(".wb-group", panel).forEach(function (group) {
      var list = $(".wb-agent-list", group);
      if (!list) return;
      var rows = $all(":scope > li.wb-agent", list);
      var sorted = rows.slice().sort(byOrder);
      if (sorted.some(function (row, i) { return row !== rows[i]; })) {
        sorted.forEach(function (row) { list.appendChild(row); });
      }
      // A group that lists all its agents counts its rows: they move at once, while the
      // figures (rendered at most once a second) would lag them. One that could not list
      // them all (at most `limit`) counts from the figures, which know every agent.
      var total = rows.length;
      var status = group.getAttribute("data-status");
      if (group.hasAttribute("data-not-all-listed") && status in totals) {
        total = Math.max(rows.length, totals[status]);
      }
      var count = $(".wb-count", group);
      if (count && count.textContent !== String(total)) {
        count.textContent = String(total);
        count.setAttribute("aria-label", total + " agents");
      }
      list.hidden = !rows.length;
      var nobody = $(".wb-nobody", group);
      if (nobody) nobody.hidden = rows.length > 0;
      showMore($(".wb-more", group), total - rows.length);
    });
  }

  // A group's list was full when an agent came into it: from now on (until the next full
  // state) its rows are not all its agents.
  function notAllListed(list) {
    var group = list.closest(".wb-group");
    if (group) group.setAttribute("data-not-all-listed", "");
  }

  // "status=n status=n" from the figures (rendered at most once a second).
  function agentTotals() {
    var totals = {};
    var figures = $("#wb-figures");
    var text = figures ? figures.getAttribute("data-agents-by-status") : null;
    if (text === null) return totals;
    $all(".wb-group").forEach(function (g) { totals[g.getAttribute("data-status")] = 0; });
    text.split(" ").forEach(function (pair) {
      var parts = pair.split("=");
      if (parts.length === 2) totals[parts[0]] = Number(parts[1]) || 0;
    });
    return totals;
  }

  function showMore(line, hidden) {
    if (!line) return;
    line.hidden = hidden <= 0;
    var n = $(".wb-more-n", line);
    if (n) n.textContent = String(Math.max(0, hidden));
    var noun = $(".wb-more-noun", line);
    if (noun) noun.textContent = noun.getAttribute(hidden === 1 ? "data-one" : "data-many");
  }

  // Calls beyond the list: counted from the figures; a freed slot is refilled by a resync.
  // The figures trail a change by up to a second, so the refill waits for them and looks
  // again before asking; refills are at least REFILL_GAP apart (a full state is not small).
  var REFILL_AFTER = 1500, REFILL_GAP = 5000;
  var lastRefill = 0, refillTimer = null;
  function callId(el) { return num(el, "data-call-id") || 0; }

  function arrangeCalls() {
    var hidden = hiddenCalls();
    var list = $("#wb-calls");
    // Oldest first, as the server lists them: a burst's new cards arrive in the order their
    // pushes were rendered, not the order the calls came in. Moved only when out of order.
    var cards = calls();
    var sorted = cards.slice().sort(function (a, b) { return callId(a) - callId(b); });
    if (list && sorted.some(function (el, i) { return el !== cards[i]; })) {
      sorted.forEach(function (el) { list.appendChild(el); });
    }
    // Every call counted is listed again, with room to spare: the list lists them all.
    if (list && hidden <= 0 && calls().length < limitOf(list)) {
      list.removeAttribute("data-not-all-listed");
    }
    showMore($("#wb-more-calls"), hidden);
    if (slotFree() && !refillTimer) {
      var wait = Math.max(REFILL_AFTER, lastRefill + REFILL_GAP - Date.now());
      refillTimer = setTimeout(function () {
        refillTimer = null;
        if (!slotFree()) return;
        lastRefill = Date.now();
        live.resync();
      }, wait);
    }
  }

  // A list that has never been full lists every live call: its cards come and go at once,
  // while the figures (rendered at most once a second) would lag them, and a call just
  // ended would read "No calls in progress" beside "and 1 more". Only a list that could not
  // list them all counts from the figures, which know every call.
  function hiddenCalls() {
    var figures = $("#wb-figures");
    var list = $("#wb-calls");
    if (!figures || !list || !list.hasAttribute("data-not-all-listed")) return 0;
    return (num(figures, "data-calls-in-progress") || 0) - calls().length;
  }

  function slotFree() {
    var list = $("#wb-calls");
    return !!list && hiddenCalls() > 0 && calls().length < limitOf(list);
  }

  function afterChange() {
    arrangeAgents();
    arrangeCalls();
    LivePage.placeholder($("#wb-calls"), "article.wb-call", "wb-no-calls", "No calls in progress.");
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

  afterChange();
})();
