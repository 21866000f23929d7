/* roi: the optional drawn signature. Wires signature_pad (static/vendor/signature_pad, MIT) to the
   hidden "drawn_signature" field: on submit the drawing goes in as a PNG data URL. Without this
   script the pad stays hidden and the typed name alone signs (CSP: no inline script). */
(function () {
  "use strict";

  // A phone at 3x would make a large PNG for no gain; 2x is sharp on paper.
  var MAX_RATIO = 2;

  function setUp(box) {
    var canvas = box.querySelector("canvas");
    var form = box.closest("form");
    var input = form && form.querySelector("input[name='drawn_signature']");
    var clear = box.querySelector("[data-signature-clear]");
    if (!canvas || !input || typeof window.SignaturePad !== "function") {
      return;
    }
    box.hidden = false;
    var pad = new window.SignaturePad(canvas, { penColor: "#1c2430", minWidth: 0.8, maxWidth: 2.6 });

    function fit() {
      var ratio = Math.min(Math.max(window.devicePixelRatio || 1, 1), MAX_RATIO);
      var strokes = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      pad.fromData(strokes);
      // a kept drawing is an image, not strokes: drawn again, or it would vanish from the box
      // while its hidden field still carried it
      if (!strokes.length && input.value.indexOf("data:image/png;base64,") === 0) {
        pad.fromDataURL(input.value, { ratio: 1, width: canvas.offsetWidth, height: canvas.offsetHeight });
      }
    }

    // fit() also draws a drawing that came back with the form: one the server asked to
    // correct, or one draft.js kept while the client checked in again
    fit();
    window.addEventListener("resize", fit);
    clear.addEventListener("click", function () {
      pad.clear();
      input.value = "";
    });
    form.addEventListener("submit", function () {
      if (!pad.isEmpty()) {
        input.value = pad.toDataURL("image/png");
      } else if (input.value.indexOf("data:image/png;base64,") !== 0) {
        input.value = "";
      }
    });
  }

  document.querySelectorAll("[data-signature-pad]").forEach(setUp);
})();
