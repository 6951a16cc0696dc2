/* What the agent desktop and the wallboard share beyond the connection and the timers:
 * DOM helpers, the toast, stale fragments left unswapped (a push or an answer older than
 * what the page shows), the "nothing here" placeholder of a list, and one hook run after
 * every change.
 *
 * Usage: `LivePage.toaster({ ms: 6000 })`, `LivePage.skipStale({ ... })`,
 * `LivePage.afterEveryChange(fn)`, `LivePage.placeholder(list, item, id, text)`,
 * `LivePage.placeNewcomers(placeFor)`. Rows of people who left fold into their card's
 * lists on their own.
 */
(function () {
  "use strict";

  var body = document.body;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // A number attribute, or null when absent or empty.
  function num(el, attr) {
    var v = el && el.getAttribute && el.getAttribute(attr);
    return v === null || v === undefined || v === "" ? null : Number(v);
  }

  // True when the page holds a newer copy (by `attr`) of the element with incoming's id.
  function olderThanShown(incoming, attr) {
    var current = document.getElementById(incoming.id);
    var a = num(current, attr), b = num(incoming, attr);
    return a !== null && b !== null && b < a;
  }

  // A toast in #toast that goes after `ms` unless sticky. A toast pushed by the server
  // (an out-of-band swap into #toast) goes after `ms` too when `pushed` is set.
  function toaster(options) {
    var timer = null;
    function clearLater() { timer = setTimeout(function () { $("#toast").innerHTML = ""; }, options.ms); }
    function toast(html, sticky) {
      var box = $("#toast");
      if (!box) return;
      box.innerHTML = "<p>" + html + "</p>";
      clearTimeout(timer);
      if (!sticky) clearLater();
    }
    if (options.pushed) {
      body.addEventListener("htmx:oobAfterSwap", function (evt) {
        if (evt.detail.target && evt.detail.target.id === "toast") {
          clearTimeout(timer);
          clearLater();
        }
      });
    }
    return toast;
  }

  // Stale fragments are not swapped in, pushed or answered; an answer's message is kept.
  //   isStale(el): the page shows a newer copy of el;
  //   ours(target): an answer swapped into target is one to check (others are left alone);
  //   answerOf(target, content): the element of that answer to compare, if any;
  //   appendMessage: an answer's message goes at the end of a target with no message slot;
  //   onPush(incoming, stale), onAnswer(): run for every push, and every answer of ours.
  function skipStale(options) {
    body.addEventListener("htmx:oobBeforeSwap", function (evt) {
      var fragment = evt.detail.fragment;
      // outerHTML swaps hand over a fragment holding the element; other styles the element.
      var incoming = fragment && fragment.nodeType === 11 ? fragment.firstElementChild : fragment;
      var stale = !!incoming && options.isStale(incoming);
      if (stale) evt.detail.shouldSwap = false;
      if (options.onPush) options.onPush(incoming, stale);
    });

    body.addEventListener("htmx:beforeSwap", function (evt) {
      var target = evt.detail.target;
      if (!target || !target.id || !options.ours(target)) return;
      var tpl = document.createElement("template");
      tpl.innerHTML = evt.detail.serverResponse || "";
      var incoming = options.answerOf(target, tpl.content);
      if (incoming && options.isStale(incoming)) {
        evt.detail.shouldSwap = false;
        keepMessage(target, incoming, options.appendMessage);
      }
      if (options.onAnswer) options.onAnswer();
    });
  }

  function keepMessage(target, incoming, append) {
    var err = incoming.querySelector(".call-error");
    if (!err || !err.textContent.trim()) return;
    var slot = target.querySelector(".call-error");
    if (slot) slot.innerHTML = err.innerHTML;
    else if (append) target.appendChild(err);
  }

  // After every swap, answer or push (an out-of-band swap settles a moment later).
  function afterEveryChange(fn) {
    body.addEventListener("htmx:afterSettle", fn);
    body.addEventListener("htmx:wsAfterMessage", fn);
    body.addEventListener("htmx:oobAfterSwap", function () { setTimeout(fn, 0); });
  }

  // A list's "nothing here" line: there while the list holds no `item`, gone once it does.
  function placeholder(list, item, id, text) {
    if (!list) return;
    var any = list.querySelector(item);
    var empty = document.getElementById(id);
    if (any && empty) empty.remove();
    if (!any && !empty) {
      var p = document.createElement("p");
      p.className = "empty";
      p.id = id;
      p.textContent = text;
      list.appendChild(p);
    }
  }

  // An out-of-band element, pushed or in an answer, that the page does not have yet has no
  // target: htmx would log an error for each (a new call, a card deleted that this page
  // never showed). Before the swap, each gets a stand-in to replace: where `placeFor(el)`
  // says (a list that takes it), else in a hidden sink emptied once the swap is done.
  function placeNewcomers(placeFor) {
    var sink = document.createElement("div");
    sink.hidden = true;
    sink.setAttribute("aria-hidden", "true");
    body.appendChild(sink);
    function standIns(html) {
      if (typeof html !== "string" || html.indexOf("hx-swap-oob") < 0) return;
      var tpl = document.createElement("template");
      tpl.innerHTML = html;
      Array.prototype.forEach.call(tpl.content.children, function (el) {
        if (!el.id || !el.hasAttribute("hx-swap-oob") || document.getElementById(el.id)) return;
        var stub = document.createElement(el.tagName);
        stub.id = el.id;
        stub.className = el.className;  // so that lists count it
        (placeFor(el) || sink).appendChild(stub);
      });
    }
    function emptySink() { sink.innerHTML = ""; }
    body.addEventListener("htmx:wsBeforeMessage", function (evt) { standIns(evt.detail.message); });
    body.addEventListener("htmx:beforeSwap", function (evt) {
      if (evt.detail.shouldSwap) standIns(evt.detail.serverResponse);
    });
    body.addEventListener("htmx:wsAfterMessage", emptySink);
    body.addEventListener("htmx:afterSwap", emptySink);
  }

  // Adds a pushed element the page does not show yet to `list`, and lets htmx wire it.
  function append(list, el) {
    list.appendChild(el);
    htmx.process(el);
  }

  // A call's row for someone who left fades away after a moment (fold-away in
  // desktop.css); as it ends, the card's "Left the call" or "Not answered" list takes them
  // (the card lists them hidden until then: templates/live/_folded_legs.html), so the
  // card never shows neither while it waits for its next push.
  body.addEventListener("animationend", function (evt) {
    var row = evt.target;
    if (evt.animationName !== "fold-away" || !row.getAttribute) return;
    var pk = row.getAttribute("data-member");
    if (!pk) return;
    $all('[data-unfold="' + pk + '"]', row.closest(".call") || document).forEach(function (item) {
      item.hidden = false;
      var list = item.closest("details");
      if (!list) return;
      list.hidden = false;
      var count = $(".fold-count", list);
      if (count) count.textContent = String($all("li:not([hidden])", list).length);
    });
  });

  window.LivePage = {
    $: $, $all: $all, num: num, olderThanShown: olderThanShown,
    toaster: toaster, skipStale: skipStale, afterEveryChange: afterEveryChange,
    placeholder: placeholder, append: append, placeNewcomers: placeNewcomers,
  };
})();
