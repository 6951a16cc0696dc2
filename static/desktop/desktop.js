/* Agent desktop: the small amount of behaviour htmx does not give us.
 *
 * - the live connection (static/live/connection.js), with this page's close codes;
 * - stale fragments are ignored (every call fragment carries its version; static/live/page.js);
 * - a pushed call that is not on the page yet is added to the list;
 * - ticking timers (static/live/timers.js);
 * - ringing (WebAudio tone + a notification when the tab is in the background);
 * - keyboard shortcuts, focus kept across live updates, customer picking in the dial box.
 */
(function () {
  "use strict";

  var state = {
    announced: {},
  };
  var SIGNED_OUT = "You have been signed out.";
  var $ = LivePage.$, $all = LivePage.$all;
  var toast = LivePage.toaster({ ms: 6000, pushed: true });

  // Connection badge, reconnects, heartbeat and sign-out: static/live/connection.js.
  LiveConnection.start({
    closeMessages: { 4401: { signOut: SIGNED_OUT }, 4403: { down: "No agent profile" } },
    sessionMessages: { 401: SIGNED_OUT },
    toast: toast,
    stickyRefusals: true,
  });

  // --- fragments: versions, new calls, empty list ----------------------------------------

  function isStale(incoming) {
    if (incoming.tagName !== "ARTICLE" || !incoming.id || incoming.id.indexOf("call-") !== 0) {
      return false;
    }
    return LivePage.olderThanShown(incoming, "data-version");
  }

  // Pushes and answers (static/live/page.js); what was typed is kept across either.
  LivePage.skipStale({
    isStale: isStale,
    ours: function (target) { return target.id.indexOf("call-") === 0; },
    answerOf: function (target, content) { return content.querySelector("article.call"); },
    onPush: function (incoming, stale) {
      rememberWork();
      if (!stale) keepFieldInUse(incoming);
    },
    onAnswer: rememberWork,
  });

  // A call that is not on the page yet, pushed or in an answer, goes into the list (in its
  // place once the change is in: orderCalls); a deleted one this page never showed, nowhere.
  LivePage.placeNewcomers(function (el) {
    var isCall = el.tagName === "ARTICLE" && el.classList.contains("call");
    return isCall && !el.hasAttribute("data-deleted") ? $("#calls") : null;
  });

  // Should a call still find no place (a swap the stand-ins did not see), add it here.
  document.body.addEventListener("htmx:oobErrorNoTarget", function (evt) {
    var el = evt.detail.content;
    if (!el || el.tagName !== "ARTICLE" || !el.classList.contains("call")) return;
    if (el.hasAttribute("data-deleted")) return; // already gone here
    var list = $("#calls");
    if (!list) return;
    var empty = $("#no-calls");
    if (empty) empty.remove();
    LivePage.append(list, el);
    afterChange();
  });

  LivePage.afterEveryChange(afterChange);

  function afterChange() {
    orderCalls();
    LivePage.placeholder($("#calls"), "article.call", "no-calls",
      "No calls right now. Calls you place or receive appear here.");
    announce();
    sweepTransients();
    updateRinging();
    restoreWork();
    saveWhenWrapUpRunsOut();
    LiveTimers.refresh();
  }

  // A notice that says something for a moment ("Calling Dana…") goes after 8 s. Also after
  // a swap of the dial form itself: htmx settles it after the call's card came by, so the
  // change above ran before the notice was on the page.
  function sweepTransients() {
    $all("[data-transient]").forEach(function (el) {
      el.removeAttribute("data-transient");
      setTimeout(function () { el.remove(); }, 8000);
    });
    // "Calling Gus… answer it to connect" must not outlive the call it announced (busy,
    // failed, cancelled), nor the agent answering their phone: it is done then.
    $all("#dial .form-notice[data-call-id]").forEach(function (el) {
      var card = document.getElementById("call-" + el.getAttribute("data-call-id"));
      if (!card) return;
      var answered = card.querySelector("tr.member--me:not(.member--dialling):not(.member--pending)");
      if (!card.classList.contains("call--live") || answered) el.remove();
    });
  }
  document.body.addEventListener("htmx:afterSettle", sweepTransients);

  // Signed out (here or in another tab): the status shown is no longer the agent's (they
  // went Offline, or will after the call), and its timer would tick on as if it were.
  document.body.addEventListener("live:signed-out", function () {
    var status = $("#agent-status");
    if (!status) return;
    var label = status.querySelector(".status-label");
    if (label) label.textContent = "Signed out";
    // Nor in the status's colour and icon, or with its button shown pressed.
    status.className = status.className.replace(/\bstatus--[a-z_]+/, "status--offline");
    var pill = status.querySelector(".pill");
    if (pill) {
      pill.className = "pill pill--offline";
      $all("svg", pill).forEach(function (icon) { icon.remove(); });
    }
    $all("#agent-status .is-current").forEach(function (el) { el.classList.remove("is-current"); });
    $all("#agent-status [aria-pressed]").forEach(function (el) { el.removeAttribute("aria-pressed"); });
    $all("#agent-status .status-reason, #agent-status .status-owed, #agent-status .status-time, #agent-status .status-next")
      .forEach(function (el) { el.remove(); });
    // Nor their calls as live: timers ticking on a call that may have ended meanwhile.
    $all("#calls > article.call").forEach(function (card) {
      card.classList.add("call--stale");
      $all("[data-since]", card).forEach(function (el) { el.removeAttribute("data-since"); });
      var note = document.createElement("p");
      note.className = "call-stale-note";
      note.textContent = "Not kept up to date while signed out: log in again to see this call as it is.";
      card.insertBefore(note, card.firstChild);
    });
    // Nor who waits in their queues, with the longest wait ticking: no longer kept up to date.
    $all("#my-queues .queue").forEach(function (queue) {
      queue.classList.remove("queue--waiting");
      var waiting = queue.querySelector(".queue-waiting");
      if (waiting) waiting.textContent = "not shown while signed out";
    });
  });

  // Logging out does not end a call: the customer stays on the line (or on hold) with
  // nobody at the desk. Say so before the agent leaves one. A call only ringing for them is
  // declined instead (agents.presence), and goes to the next agent: say that.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form.logout")) return;
    var question = null;
    if ($("#calls > article.call.call--live:not([data-ringing])")) {
      question = "You are on a call. Logging out does not end it: the customer stays on " +
        "the line, and you go Offline when it ends. Log out anyway?";
    } else if ($("#calls > article.call.call--live[data-ringing]")) {
      question = "A call is ringing for you. Logging out declines it: the caller goes to " +
        "the next agent. Log out anyway?";
    }
    if (question && !window.confirm(question)) evt.preventDefault();
  });

  // End wrap-up, or a status picked (Away during wrap-up ends it too), also saves what the
  // agent picked and did not save yet: a disposition chosen on a card is what they meant,
  // not something to lose. Each picked card's form is sent as its own Save wrap-up; in
  // whichever order the server takes them, the agent ends where they asked with those
  // calls wrapped up (agents.services.wrap_up). +30 s saves nothing: the wrap-up goes on.
  var savedOnPressAt = 0;
  function savePicked() {
    $all("#calls > article.call form.wrap-up").forEach(function (card) {
      var picked = card.querySelector("select[name='disposition']");
      if (picked && picked.value) card.requestSubmit();
    });
  }
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("#agent-status form.status-controls")) return;
    var pressed = evt.submitter;
    if (!pressed || !(pressed.value === "end_wrap_up" || pressed.name === "status")) return;
    if (statusShown() === "wrap_up") savedOnPressAt = Date.now();
    savePicked();
  }, true);

  // So does the wrap-up's time running out (the server ends it, and the push says so): the
  // card would stay, asking again for what the agent had already picked.
  function statusShown() {
    var el = $("#agent-status");
    return el ? el.getAttribute("data-status") : null;
  }
  var statusSeen = statusShown();
  function saveWhenWrapUpRunsOut() {
    var now = statusShown();
    var was = statusSeen;
    statusSeen = now;
    // To a resting status: on to a new call, the card stays for them to finish.
    if (was !== "wrap_up" || ["available", "away", "offline"].indexOf(now) < 0) return;
    if (Date.now() - savedOnPressAt < 10000) return;  // the agent's own press saved them
    if ($("#calls > article.call.call--stale")) return;  // signed out: nothing would save
    savePicked();
  }

  // The agent's live calls first, oldest first, then the calls to wrap up, newest first, as
  // the server lists them (agents.selectors.desktop_calls): a call that arrives or ends by a
  // push takes its place, and the keyboard shortcuts, which act on the first card, act on
  // the live call, else on the call just finished.
  function orderCalls() {
    var list = $("#calls");
    if (!list) return;
    var cards = $all("#calls > article.call");
    function rank(el) { return el.classList.contains("call--live") ? 0 : 1; }
    var sorted = cards.slice().sort(function (a, b) {
      var byId = LivePage.num(a, "data-call-id") - LivePage.num(b, "data-call-id");
      return rank(a) - rank(b) || (rank(a) === 0 ? byId : -byId);
    });
    if (sorted.every(function (el, i) { return el === cards[i]; })) return;
    var active = document.activeElement;
    sorted.forEach(function (el) { list.appendChild(el); });
    // Moving a card takes the focus off a field in it: give it back.
    if (active && active !== document.body && document.activeElement !== active && document.contains(active)) {
      active.focus({ preventScroll: true });
    }
  }

  function announce() {
    var box = $("#announce");
    if (!box) return;
    var lines = [];
    $all("article.call[data-announce]").forEach(function (el) {
      var text = el.getAttribute("data-announce");
      if (state.announced[el.id] !== text) {
        state.announced[el.id] = text;
        lines.push(text);
      }
    });
    var status = $("#agent-status .status-now");
    var said = status ? "Your status: " + status.textContent.replace(/\s+/g, " ").trim() : "";
    var label = status ? $("#agent-status").getAttribute("data-status") : "";
    if (label && state.announced["#status"] !== label) {
      if (state.announced["#status"] !== undefined) lines.push(said.replace(/ for [0-9:]+$/, "") + ".");
      state.announced["#status"] = label;
    }
    if (lines.length) box.textContent = lines.join(" ");
  }

  // --- what the agent was doing survives live updates ---------------------------------------
  // Fields marked data-keep (notes, the transfer target, the disposition, a half-filled new
  // customer) keep what was typed or picked and not saved yet when a push redraws their call,
  // and focus stays on the control it was on. A field with nothing unsaved takes the server's
  // value: writing an old value back over it would undo a colleague's (or another tab's) work.

  // What the server holds for a field as far as this page knows: the value it last saved
  // from here, else the value the server rendered.
  function savedValue(el) {
    if (el.dataset.saved !== undefined) return el.dataset.saved;
    if (el.tagName === "SELECT") {
      var picked = Array.prototype.filter.call(el.options, function (o) { return o.defaultSelected; });
      return picked.length ? picked[0].value : (el.options.length ? el.options[0].value : "");
    }
    return el.defaultValue;
  }

  // A field that saves itself (the notes): what it sent is saved once the answer is a success.
  document.body.addEventListener("htmx:beforeRequest", function (evt) {
    var el = evt.detail.elt;
    if (el && el.matches && el.matches("[data-keep][hx-post]")) el.dataset.sending = el.value;
  });
  document.body.addEventListener("htmx:afterRequest", function (evt) {
    var el = evt.detail.elt;
    if (!el || !el.dataset || el.dataset.sending === undefined) return;
    // By status: a 4xx is not an htmx error here (base.html), but it saved nothing.
    var xhr = evt.detail.xhr;
    if (evt.detail.successful && xhr && xhr.status < 400) el.dataset.saved = el.dataset.sending;
    delete el.dataset.sending;
  });

  var kept = null;
  function rememberWork() {
    if (kept) return;
    kept = { fields: {}, texts: {}, focus: null };
    $all("[data-keep]").forEach(function (el) {
      if (!el.id) return;
      kept.fields[el.id] = {
        value: el.value, open: el.open, unsaved: el.value !== savedValue(el),
        start: el.selectionStart, end: el.selectionEnd,
      };
    });
    // A field's save status ("Notes saved") outlives the redraw its own save causes.
    $all("[data-keep-text]").forEach(function (el) {
      if (el.id && el.textContent) kept.texts[el.id] = el.textContent;
    });
    var active = document.activeElement;
    if (active && active.id && active !== document.body) kept.focus = active.id;
  }

  // The field the agent is typing in stays the same element through a push that redraws its
  // call (the new copy takes its place), so its caret, scroll and undo history are kept;
  // with nothing unsaved in it, it shows the server's value, as a redrawn one would.
  function keepFieldInUse(incoming) {
    var active = document.activeElement;
    if (!incoming || !incoming.id || !active || !active.id) return;
    if (!active.matches("textarea[data-keep], input[type=text][data-keep]")) return;
    var current = document.getElementById(incoming.id);
    var fresh = current && current.contains(active) && incoming.querySelector("#" + CSS.escape(active.id));
    if (!fresh) return;
    var unsaved = active.value !== savedValue(active);
    active.defaultValue = fresh.defaultValue;
    delete active.dataset.saved;
    if (!unsaved) active.value = fresh.value;
    fresh.replaceWith(active);
    // Its save's answer ("Notes saved") goes to the status line htmx found when the save was
    // sent; the save's own push may redraw the card first, so that line stays too.
    var status = active.getAttribute("hx-target");
    if (!status || status.charAt(0) !== "#") return;
    var shown = document.querySelector(status);
    var next = incoming.querySelector(status);
    if (shown && next && current.contains(shown)) next.replaceWith(shown);
  }

  function restoreWork() {
    if (!kept) return;
    var saved = kept;
    kept = null;
    Object.keys(saved.texts).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && !el.textContent) el.textContent = saved.texts[id];
    });
    Object.keys(saved.fields).forEach(function (id) {
      var el = document.getElementById(id);
      var was = saved.fields[id];
      if (!el) return;
      if (el.tagName === "DETAILS") { el.open = was.open; return; }
      if (!was.unsaved || was.value === undefined || el.value === was.value) return;
      el.value = was.value;
      // The redraw dropped a save that was waiting (or on its way): send it again.
      if (el.hasAttribute("hx-post")) el.dispatchEvent(new Event("input", { bubbles: true }));
    });
    var active = document.activeElement;
    if (saved.focus && (!active || active === document.body || active.id !== saved.focus)) {
      var target = document.getElementById(saved.focus);
      if (target && !target.disabled && (!active || active === document.body)) {
        target.focus({ preventScroll: true });
        var was = saved.fields[saved.focus];
        if (was && was.start !== null && was.start !== undefined && target.setSelectionRange) {
          try { target.setSelectionRange(was.start, was.end); } catch (e) { /* not a text field */ }
        }
      }
    }
  }

  // --- ringing -------------------------------------------------------------------------------

  var audio = { ctx: null, timer: null, notification: null };

  function ensureAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio.ctx) {
      audio.ctx = new Ctx();
      audio.ctx.onstatechange = audioStateChanged;
    }
    if (audio.ctx.state === "suspended") audio.ctx.resume();
    return audio.ctx;
  }

  function audioRunning() {
    return !!(audio.ctx && audio.ctx.state === "running");
  }

  // Sound allowed at last (a click or a key after a reload): a call ringing now rings at once.
  function audioStateChanged() {
    if (audio.timer && audioRunning()) ringOnce();
    showAlertsState();
  }

  // A classic double ring: two short bursts of 440 + 480 Hz every three seconds.
  function ringOnce() {
    var ctx = audio.ctx;
    if (!ctx || ctx.state !== "running") return;
    [0, 0.5].forEach(function (offset) {
      var gain = ctx.createGain();
      gain.gain.value = 0.0001;
      gain.connect(ctx.destination);
      [440, 480].forEach(function (hz) {
        var osc = ctx.createOscillator();
        osc.frequency.value = hz;
        osc.connect(gain);
        var t = ctx.currentTime + offset;
        osc.start(t);
        osc.stop(t + 0.4);
      });
      var t0 = ctx.currentTime + offset;
      gain.gain.exponentialRampToValueAtTime(0.15, t0 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.4);
    });
  }

  function updateRinging() {
    var ringing = $("article.call[data-ringing='true']");
    document.body.dataset.ringing = ringing ? "true" : "false";
    if (ringing && !audio.timer) {
      ensureAudio();
      ringOnce();
      audio.timer = setInterval(ringOnce, 3000);
      document.title = "☎ Incoming call · " + document.title.replace(/^☎ Incoming call · /, "");
      if (document.hidden && window.Notification && Notification.permission === "granted") {
        audio.notification = new Notification("Incoming call", {
          body: ringing.getAttribute("data-ring-text") || "A call is ringing on your phone.",
          tag: "incoming-call",
          requireInteraction: true,
        });
        audio.notification.onclick = function () { window.focus(); this.close(); };
      }
    } else if (!ringing && audio.timer) {
      clearInterval(audio.timer);
      audio.timer = null;
      document.title = document.title.replace(/^☎ Incoming call · /, "");
      if (audio.notification) { audio.notification.close(); audio.notification = null; }
    }
    showAlertsState();
  }

  var alertsButton = $("#enable-alerts");
  // A page opened or reloaded while a call rings may not sound until the agent clicks or
  // presses a key (the browser's rule): the button says so while the ring is silent.
  function showAlertsState() {
    if (!alertsButton) return;
    var silent = document.body.dataset.ringing === "true" && !audioRunning();
    var on = !!(window.Notification && Notification.permission === "granted") && audioRunning();
    alertsButton.classList.toggle("btn--attention", silent);
    alertsButton.textContent = silent ? "Click to hear the ring" : on ? "Call alerts on" : "Call alerts";
    alertsButton.setAttribute("aria-pressed", on && !silent ? "true" : "false");
  }
  if (alertsButton) {
    alertsButton.addEventListener("click", function () {
      ensureAudio();
      if (window.Notification && Notification.permission === "default") {
        Notification.requestPermission().then(showAlertsState);
      }
      setTimeout(showAlertsState, 100);
    });
  }
  // Browsers only start audio after a user gesture: any click or key on the page will do.
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () { if (!audioRunning()) ensureAudio(); }, true);
  });

  // --- dial box: picking a customer ----------------------------------------------------------

  document.body.addEventListener("click", function (evt) {
    var pick = evt.target.closest && evt.target.closest(".suggestion");
    if (!pick) return;
    $("#dial-to").value = pick.getAttribute("data-label");
    $("#dial-customer-id").value = pick.getAttribute("data-customer-id");
    $("#dial-results").innerHTML = "";
    $("#dial .btn--call").focus();
  });
  document.body.addEventListener("input", function (evt) {
    // Editing the text forgets a customer picked before.
    if (evt.target.id === "dial-to") $("#dial-customer-id").value = "";
  });

  // --- keyboard shortcuts --------------------------------------------------------------------

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement)) return;
    var key = evt.key;
    if (key === "/") {
      evt.preventDefault();
      $("#dial-to").focus();
      return;
    }
    var scope = key === "e" ? document
      : key === "j" ? $("#calls article.call[data-ringing='true']")
      : $("#calls article.call");
    if (!scope) return;
    var target = scope.querySelector("[data-key='" + key + "']:not([disabled])");
    if (!target) return;
    evt.preventDefault();
    if (target.tagName === "INPUT" || target.tagName === "TEXTAREA") target.focus();
    else target.click();
  });

  afterChange();
})();
