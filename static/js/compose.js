/* roi: the compose page's live consent check and preview. Whenever the client, the recipient,
   the categories or the purpose change, it asks the server (the same gate as sending,
   roi/consent/gate.py; each check is audited) whether a signed release covers the message, and
   shows the answer in the polite live region. The preview of what the recipient receives follows
   the subject, body and files as they are typed. Without this script, "Check and preview" posts
   the form and the server renders the same answer. */
(function () {
  "use strict";

  var DELAY_MS = 300;
  var GATED = ["client_id", "recipient_provider_id", "categories", "purpose"];

  /* The server renders the coverage panel (templates/clinician/_message_coverage.html, in the
     page's language, escaped) and returns it with the decision. */
  function coverageNodes(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content;
  }

  function setUp(form) {
    var panel = form.querySelector("[data-coverage]");
    var body = panel.querySelector("[data-coverage-body]");
    var preview = form.querySelector("[data-preview]");
    var files = form.querySelector("input[type=file]");
    var checkButton = form.querySelector("[name=check]");
    var sendButton = form.querySelector("[name=send]");
    var blocked = form.querySelector("[data-send-blocked]");
    var emergency = form.querySelector("[data-emergency]");
    var last = null;
    var timer = null;
    var pending = null;

    function show(data) {
      last = data;
      body.textContent = "";
      if (data.html) {
        body.appendChild(coverageNodes(data.html));
      } else {
        var line = document.createElement("p");
        line.className = "hint";
        line.textContent = data.message;
        body.appendChild(line);
      }
      renderSend();
      renderPreview();
    }

    /* Send is off while no signed release covers the message, with the reason beside it,
       unless the clinician sends it as an emergency. */
    function renderSend() {
      var reason = (last && last.send_blocked) || "";
      var off = reason !== "" && !(emergency && emergency.checked);
      sendButton.disabled = off;
      blocked.textContent = reason;
      blocked.hidden = !off;
      if (off) {
        sendButton.setAttribute("aria-describedby", blocked.id);
      } else {
        sendButton.removeAttribute("aria-describedby");
      }
    }

    function renderPreview() {
      var permitted = last !== null && last.decision === "permit";
      preview.hidden = !permitted;
      if (!permitted) {
        return;
      }
      preview.querySelector("[data-preview-subject]").textContent = form.elements.subject.value.trim();
      preview.querySelector("[data-preview-body]").textContent = form.elements.body.value;
      var names = Array.prototype.map.call(files.files || [], function (file) { return file.name; });
      preview.querySelector("[data-preview-files]").textContent = names.length ? names.join(", ") : panel.getAttribute("data-none");
      preview.querySelector("[data-preview-scope]").textContent = last.scope_summary || "";
      var notice = preview.querySelector("[data-preview-part2]");
      notice.hidden = !last.part2_notice;
      notice.querySelector("[data-preview-part2-text]").textContent = last.part2_notice || "";
    }

    function check() {
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      var data = new FormData(form);
      data.delete("attachments");  // files are never sent to the check
      data.delete("send");
      data.delete("check");
      data.delete("keep_draft");
      fetch(panel.getAttribute("data-check-url"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        signal: pending.signal,
        headers: { "X-CSRFToken": data.get("csrf_token") || "" }
      })
        .then(function (response) {
          return response.ok || response.status === 422 ? response.json() : null;
        })
        .then(function (answer) {
          show(answer || { decision: "incomplete", message: panel.getAttribute("data-unavailable") });
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            show({ decision: "incomplete", message: panel.getAttribute("data-unavailable") });
          }
        });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, DELAY_MS);
    }

    form.addEventListener("change", function (event) {
      if (GATED.indexOf(event.target.name) !== -1) {
        soon();
      } else if (event.target === emergency) {
        renderSend();
      } else {
        renderPreview();
      }
    });
    form.addEventListener("input", function (event) {
      if (GATED.indexOf(event.target.name) === -1) {
        renderPreview();
      }
    });
    // The live check does what the button would; the button stays for pages without script.
    if (checkButton) {
      checkButton.hidden = true;
    }
    check();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-compose]");
    if (form) {
      setUp(form);
    }
  });
})();
