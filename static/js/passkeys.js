// Passkeys: ask the browser to create or use one for the challenge the page carries
// (data-options, JSON from the server), then post its answer with the form. What the status line
// says comes from the page (data-waiting, data-failed), in the page's language.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    return; // the buttons stay hidden; codes still work
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-passkey-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      var options = JSON.parse(form.dataset.options);
      var asked = button.dataset.passkey === "create"
        ? navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
          })
        : navigator.credentials.get({
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
          });
      status.textContent = status.dataset.waiting;
      asked.then(function (credential) {
        form.querySelector("input[name=credential]").value = JSON.stringify(credential.toJSON());
        form.submit();
      }).catch(function () {
        status.textContent = status.dataset.failed;
      });
    });
  });
})();
