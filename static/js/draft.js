/* roi: what the client typed and drew on the emailed link's signing form, kept in this tab
   (sessionStorage: it leaves the device only with the form) while they sign. The check of their
   date of birth and code lasts 30 minutes; when it lapses before "Sign", the server asks for it
   again, and the form then comes back as they left it instead of empty, except the agreement to
   sign electronically, which they give again on the page they sign. A draft goes once the release
   is signed or the link is closed, and after an hour whatever happens. Runs before signature.js,
   which draws the drawing its hidden field holds. Without JavaScript or storage the form starts
   empty, as it did. */
(function () {
  "use strict";

  var PREFIX = "roi-sign-draft:";
  var LIFETIME_MS = 60 * 60 * 1000;
  var FIELDS = ["relationship", "representative_authority", "signer_name", "drawn_signature"];

  function sessionStore() {
    try {
      return window.sessionStorage; // throws where the browser blocks storage
    } catch (error) {
      return null;
    }
  }

  function read(store, key) {
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  var store = sessionStore();
  if (!store) {
    return;
  }

  // Drafts of a signing that ended (signed, refused, the link closed) or went stale.
  var ended = document.querySelector("[data-forget-drafts]") !== null;
  Object.keys(store).forEach(function (key) {
    if (key.indexOf(PREFIX) !== 0) {
      return;
    }
    var draft = read(store, key);
    if (ended || !draft || !(Date.now() - draft.savedAt < LIFETIME_MS)) {
      store.removeItem(key);
    }
  });

  var form = document.querySelector("form[data-keep-draft]");
  if (!form) {
    return;
  }
  var key = PREFIX + form.dataset.keepDraft;

  function restore(draft) {
    FIELDS.forEach(function (name) {
      var field = form.elements[name];
      if (!field || typeof draft[name] !== "string") {
        return;
      }
      if (field.type === "radio" || field instanceof RadioNodeList) {
        // tick the choice kept, if the page offers it still (the signer rule may have
        // changed): never rewrite what a radio button means
        form.querySelectorAll("input[type=radio][name=" + name + "]").forEach(function (radio) {
          if (radio.value === draft[name]) {
            radio.checked = true;
          }
        });
        return;
      }
      field.value = draft[name];
    });
    var details = form.querySelector("details.representative");
    if (details && (draft.relationship !== "self" || draft.representative_authority)) {
      details.open = true;
    }
    var status = form.querySelector("[data-draft-status]");
    status.textContent = status.dataset.draftStatus;
  }

  var draft = read(store, key);
  // a form the server sent back to be corrected already holds what was sent
  var empty = !form.elements.signer_name.value && !form.elements.drawn_signature.value;
  if (draft && empty && (draft.signer_name || draft.drawn_signature)) {
    restore(draft);
  }

  // Registered once every deferred script has run: after signature.js's own submit handler,
  // which puts the drawing into its hidden field.
  document.addEventListener("DOMContentLoaded", function () {
    form.addEventListener("submit", function () {
      var kept = { savedAt: Date.now() };
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
