/* roi: what the client typed and drew on the emailed link's signing form, kept in this tab
   (sessionStorage: it leaves the device only with the form) until the release is signed. The
   check of their date of birth and code lasts 30 minutes; when it lapses before "Sign", the server
   asks for it again, and the form then comes back as they left it instead of empty. Runs before
   signature.js, which draws the drawing its hidden field holds. Without JavaScript or storage the
   form starts empty, as it did. */
(function () {
  "use strict";

  var PREFIX = "roi-sign-draft:";
  var FIELDS = ["relationship", "representative_authority", "signer_name", "drawn_signature"];

  function sessionStore() {
    try {
      return window.sessionStorage; // throws where the browser blocks storage
    } catch (error) {
      return null;
    }
  }

  var store = sessionStore();
  if (!store) {
    return;
  }

  // The thank-you page: the release is signed, its draft has done its work.
  document.querySelectorAll("[data-draft-signed]").forEach(function (done) {
    store.removeItem(PREFIX + done.dataset.draftSigned);
  });

  var form = document.querySelector("form[data-keep-draft]");
  if (!form) {
    return;
  }
  var key = PREFIX + form.dataset.keepDraft;

  function read() {
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function restore(draft) {
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (field && typeof draft[name] === "string") {
        field.value = draft[name];
      }
    });
    form.elements.agree.checked = draft.agree === true;
    var details = form.querySelector("details.representative");
    if (details && (draft.relationship !== "self" || draft.representative_authority)) {
      details.open = true;
    }
    var status = form.querySelector("[data-draft-status]");
    status.textContent = status.dataset.draftStatus;
  }

  var draft = read();
  // a form the server sent back to be corrected already holds what was sent
  var empty = !form.elements.signer_name.value && !form.elements.drawn_signature.value;
  if (draft && empty) {
    restore(draft);
  }

  // Registered once every deferred script has run: after signature.js's own submit handler,
  // which puts the drawing into its hidden field.
  document.addEventListener("DOMContentLoaded", function () {
    form.addEventListener("submit", function () {
      var kept = { agree: form.elements.agree.checked };
      FIELDS.forEach(function (name) {
        var field = form.elements[name];
        if (field) {
          kept[name] = field.value;
        }
      });
      try {
        store.setItem(key, JSON.stringify(kept));
      } catch (error) {
        // storage full or refused: the form is sent all the same
      }
    });
  });
})();
