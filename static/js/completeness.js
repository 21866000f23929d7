/* roi: the release form's live completeness check. As the clinician fills the form, it asks the
   server (the same rules as sending, roi/consent/elements.py) what is still missing and lists it,
   with the rule each element comes from. Without this script the list appears after saving. */
(function () {
  "use strict";

  var DELAY_MS = 400;

  function setUp(form) {
    var panel = document.querySelector(".live-check");
    if (!panel) {
      return;
    }
    var list = panel.querySelector("[data-missing]");
    var complete = panel.querySelector("[data-complete]");
    var timer = null;
    var pending = null;

    function render(missing) {
      list.textContent = "";
      missing.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "missing";
        var strong = document.createElement("strong");
        strong.textContent = item.message;
        var rule = document.createElement("span");
        rule.className = "rule";
        rule.textContent = " (" + item.rule + ")";
        li.appendChild(strong);
        li.appendChild(rule);
        list.appendChild(li);
      });
      complete.hidden = missing.length !== 0;
      panel.hidden = false;
    }

    function check() {
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      var body = new FormData(form);
      fetch(panel.getAttribute("data-check-url"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        signal: pending.signal,
        headers: { "X-CSRFToken": body.get("csrf_token") || "" }
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) { render(data.missing); } })
        .catch(function () { /* a failed check leaves the list as it was */ });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DELAY_MS);
    }

    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    check();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-live-check]");
    if (form) {
      setUp(form);
    }
  });
})();
