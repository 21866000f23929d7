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

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function paragraph(className, strong, rest) {
    var p = element("p", className);
    p.appendChild(element("strong", null, strong));
    if (rest) {
      p.appendChild(document.createTextNode(rest));
    }
    return p;
  }

  function coverageNodes(data) {
    var nodes = [];
    if (data.decision === "permit") {
      var line = paragraph("coverage-line coverage-ok", "Covered", " by ");
      var link = element("a", null, "consent #" + data.consent_id);
      link.href = data.consent_url;
      line.appendChild(link);
      line.appendChild(document.createTextNode(" " + data.until + "."));
      nodes.push(line);
      (data.cautions || []).forEach(function (caution) {
        nodes.push(element("p", "hint coverage-caution", caution));
      });
    } else if (data.decision === "deny") {
      nodes.push(paragraph("coverage-line coverage-no", "Not covered.", " This message cannot be sent:"));
      var list = element("ul", "reasons");
      data.reasons.forEach(function (reason) {
        list.appendChild(element("li", null, reason.message));
      });
      nodes.push(list);
      if (data.release_url) {
        var p = element("p");
        var create = element("a", "button", "Create a release for this client");
        create.href = data.release_url;
        p.appendChild(create);
        nodes.push(p);
        nodes.push(element("p", "hint", "The message you typed is not kept when you leave this page."));
      } else if (data.release_hint) {
        nodes.push(element("p", "hint", data.release_hint));
      }
    } else {
      nodes.push(element("p", "hint", data.message));
    }
    return nodes;
  }

  function setUp(form) {
    var panel = form.querySelector("[data-coverage]");
    var body = panel.querySelector("[data-coverage-body]");
    var preview = form.querySelector("[data-preview]");
    var files = form.querySelector("input[type=file]");
    var checkButton = form.querySelector("[name=check]");
    var last = null;
    var timer = null;
    var pending = null;

    function show(data) {
      last = data;
      body.textContent = "";
      coverageNodes(data).forEach(function (node) { body.appendChild(node); });
      renderPreview();
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
      preview.querySelector("[data-preview-files]").textContent = names.length ? names.join(", ") : "None";
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
          show(answer || {
            decision: "incomplete",
            message: "roi could not check this just now. Sending checks again, and refuses what no release covers."
          });
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            show({ decision: "incomplete", message: "roi could not check this just now." });
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
