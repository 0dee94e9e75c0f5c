// The operator's signature on the phone: drawn with pointer events (finger, pen or mouse) on a
// <canvas data-signature="<hidden input id>">, exported as a PNG data URL into that hidden input
// after every stroke and again on submit; "清除签名" empties both. The server decodes and re-encodes
// it (inspections/signatures.py). No inline script (CSP).
(function () {
  "use strict";

  function init(canvas) {
    var input = document.getElementById(canvas.dataset.signature);
    var clear = document.getElementById("signature-clear");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    var last = null;

    function setup() {
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
    }
    function point(e) {
      var rect = canvas.getBoundingClientRect();
      return { x: (e.clientX - rect.left) * canvas.width / rect.width,
               y: (e.clientY - rect.top) * canvas.height / rect.height };
    }
    function save() {
      if (input) input.value = drawn ? canvas.toDataURL("image/png") : "";
    }
    function start(e) {
      e.preventDefault();
      drawing = true;
      last = point(e);
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic */ } }
      ctx.beginPath();
      ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
      drawn = true;
    }
    function move(e) {
      if (!drawing) return;
      e.preventDefault();
      var p = point(e);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
    }
    function end() {
      if (!drawing) return;
      drawing = false;
      save();
    }

    setup();
    canvas.addEventListener("pointerdown", start);
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        save();
      });
    }
    if (canvas.form || canvas.closest("form")) {
      (canvas.form || canvas.closest("form")).addEventListener("submit", save);
    }
    canvas.dataset.ready = "1";
  }

  document.querySelectorAll("canvas[data-signature]").forEach(init);
})();
