/* roi: what every form page shares, as progressive enhancement (CSP: scripts from 'self' only).
   1. A refused form's error summary (base.html) takes focus when the page loads, so a phone shows
      it and a screen reader reads it; each of its links moves focus to its field and brings the
      field's label or legend into view.
   2. A form marked data-busy="…" (one whose submission makes a PDF) says so while the server
      works, and its submit button is disabled so a second tap does not send it twice. */
(function () {
  "use strict";

  // Included by base.html on a refused page and by the sign form: one run is enough.
  if (window.roiFormsReady) {
    return;
  }
  window.roiFormsReady = true;

  function focusSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) {
      return;
    }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) {
        return;
      }
      event.preventDefault();
      var fieldset = field.closest("fieldset");
      var legend = fieldset && fieldset.querySelector("legend");
      var label = document.querySelector("label[for='" + field.id + "']");
      var heading = legend || label || field;
      // A hidden field's label cannot be scrolled to; the field itself then is.
      field.focus({ preventScroll: true });
      heading.scrollIntoView({ block: "start" });
    });
  }

  function busyOnSubmit(form) {
    var status = form.querySelector("[data-busy-status]");
    form.addEventListener("submit", function (event) {
      var button = event.submitter || form.querySelector("button[type='submit']");
      // After every other submit handler (the signature pad, a script that submits by fetch).
      window.setTimeout(function () {
        if (event.defaultPrevented) {
          return;
        }
        if (button) {
          button.disabled = true;
        }
        if (status) {
          status.textContent = form.getAttribute("data-busy");
        }
      }, 0);
    });
  }

  // Back from the next page (the browser's page cache): the form can be used again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.querySelectorAll("button[type='submit']").forEach(function (button) {
        button.disabled = false;
      });
      var status = form.querySelector("[data-busy-status]");
      if (status) {
        status.textContent = "";
      }
    });
  });

  focusSummary();
  document.querySelectorAll("form[data-busy]").forEach(busyOnSubmit);
})();
