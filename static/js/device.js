/* roi: the device handed to a client (in-office signing). The server locks the view after a
   minute without a request; this script tells it the client is still reading or typing (at most
   every 15 seconds), and after a minute without any touch or key it reloads the page, which the
   server then answers with the lock screen. Without it, the server's minute still holds. */
(function () {
  "use strict";

  var PING_EVERY_MS = 15000;

  function setUp(box) {
    var idleMs = parseInt(box.getAttribute("data-device-idle"), 10) * 1000;
    var activityUrl = box.getAttribute("data-activity-url");
    var showUrl = box.getAttribute("data-show-url");
    var token = box.getAttribute("data-csrf") || "";
    var lastPing = Date.now();
    var timer = null;

    function lock() {
      window.location.assign(showUrl);
    }

    function ping() {
      lastPing = Date.now();
      fetch(activityUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token }
      }).then(function (response) {
        if (response.status !== 204) {
          lock();
        }
      }).catch(function () { /* offline: the server's minute decides */ });
    }

    function active() {
      window.clearTimeout(timer);
      timer = window.setTimeout(lock, idleMs);
      if (Date.now() - lastPing >= PING_EVERY_MS) {
        ping();
      }
    }

    ["pointerdown", "keydown", "scroll", "touchstart", "input"].forEach(function (name) {
      window.addEventListener(name, active, { passive: true, capture: true });
    });
    timer = window.setTimeout(lock, idleMs);
  }

  document.querySelectorAll("[data-device-idle]").forEach(setUp);
})();
