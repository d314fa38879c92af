// Copy buttons: a <button data-copy="ID" hidden> copies the value of the
// input with that id, and says so in the element with
// data-copied-for="ID". Without script the button stays hidden and the
// (read-only) field can be selected and copied by hand.
"use strict";
(function () {
  function copy(button) {
    var id = button.getAttribute("data-copy");
    var field = document.getElementById(id);
    var status = document.querySelector('[data-copied-for="' + id + '"]');
    if (!field) {
      return;
    }
    function done(ok) {
      if (status) {
        status.textContent = ok ? "Copied." : "Select the secret and copy it (Ctrl+C or ⌘C).";
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () { field.select(); done(false); });
      return;
    }
    field.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    done(ok);
  }
  function init() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { copy(b); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
