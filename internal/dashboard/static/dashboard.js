// hookd dashboard: copy buttons.
//
// A <button type="button" data-copy="TEXT"> copies TEXT; one with
// data-copy-target="SELECTOR" copies the text (or, for a form field, the
// value) of the element the selector finds. The button then reads "Copied" (or "Copy failed") for a moment,
// and a polite live region says so to screen readers. One listener on the
// document serves buttons that htmx swaps in later too.
(function () {
  "use strict";

  var live;
  function announce(msg) {
    if (!live) {
      live = document.createElement("p");
      live.className = "visually-hidden";
      live.setAttribute("role", "status");
      live.id = "copy-status";
      document.body.appendChild(live);
    }
    live.textContent = msg;
  }

  // fallbackCopy copies through a selected textarea, for browsers
  // without the async clipboard (or outside a secure context).
  function fallbackCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "visually-hidden";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }

  function show(button, state, label) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = label;
    button.dataset.state = state;
    announce(label);
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
      delete button.dataset.state;
    }, 2000);
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("button[data-copy], button[data-copy-target]");
    if (!button) {
      return;
    }
    var text = button.dataset.copy;
    if (text === undefined) {
      var target = document.querySelector(button.dataset.copyTarget);
      // A form field (the revealed secret's read-only input) copies its
      // value; any other element its text.
      text = !target ? "" : ("value" in target ? target.value : target.textContent.trim());
    }
    copy(text).then(
      function () { show(button, "copied", "Copied"); },
      function () { show(button, "failed", "Copy failed"); }
    );
  });
})();
