// Passkeys: ask the browser to create or use one for the challenge the page carries
// (data-options, JSON from the server), then post its answer with the form. What the status line
// says comes from the page (data-waiting, data-failed, data-already, data-unsupported), in the
// page's language.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-passkey]");
  if (!window.PublicKeyCredential || !navigator.credentials) {
    // the buttons stay hidden; the page says why, so no one waits for one that never comes
    buttons.forEach(function (button) {
      var status = button.closest("form").querySelector("[data-passkey-status]");
      status.textContent = status.dataset.unsupported;
    });
    return;
  }
  buttons.forEach(function (button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-passkey-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      var options = JSON.parse(form.dataset.options);
      var asked = button.dataset.passkey === "create"
        ? navigator.credentials.create({ publicKey: creationOptions(options) })
        : navigator.credentials.get({ publicKey: requestOptions(options) });
      status.textContent = status.dataset.waiting;
      asked.then(function (credential) {
        form.querySelector("input[name=credential]").value = JSON.stringify(answer(credential));
        form.submit();
      }).catch(function (error) {
        // InvalidStateError on creating: the authenticator already holds one of the account's
        // passkeys (the page lists them as excluded)
        var already = error && error.name === "InvalidStateError" && status.dataset.already;
        status.textContent = already || status.dataset.failed;
      });
    });
  });

  // The browser's own JSON helpers where it has them. Browsers with WebAuthn but without them
  // (before Chrome 129, Firefox 119 and Safari 18) get the few binary fields the WebAuthn spec
  // names turned from and to base64url here: written by hand because roi ships its scripts as
  // they are, without a build step to bring in a library, and the list is the spec's own.
  function creationOptions(options) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(options);
    }
    return Object.assign({}, options, {
      challenge: bytes(options.challenge),
      user: Object.assign({}, options.user, { id: bytes(options.user.id) }),
      excludeCredentials: (options.excludeCredentials || []).map(credentialId),
    });
  }

  function requestOptions(options) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(options);
    }
    return Object.assign({}, options, {
      challenge: bytes(options.challenge),
      allowCredentials: (options.allowCredentials || []).map(credentialId),
    });
  }

  function answer(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    var json = {
      clientDataJSON: text(response.clientDataJSON),
    };
    if (response.attestationObject) {
      json.attestationObject = text(response.attestationObject);
      json.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.authenticatorData = text(response.authenticatorData);
      json.signature = text(response.signature);
      if (response.userHandle) {
        json.userHandle = text(response.userHandle);
      }
    }
    return {
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: json,
    };
  }

  function credentialId(descriptor) {
    return Object.assign({}, descriptor, { id: bytes(descriptor.id) });
  }

  function bytes(base64url) {
    var binary = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      out[i] = binary.charCodeAt(i);
    }
    return out.buffer;
  }

  function text(buffer) {
    var binary = "";
    new Uint8Array(buffer).forEach(function (byte) {
      binary += String.fromCharCode(byte);
    });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
})();
