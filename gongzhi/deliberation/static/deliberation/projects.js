/* The project form: the sum of the three shares, shown as they are typed (the server checks again). */
(function () {
  "use strict";
  function fen(value) {
    var text = String(value || "").replace(/[,，\s]/g, "");
    if (!/^\d+(\.\d{1,2})?$/.test(text)) { return null; }
    var parts = text.split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }
  function show(form, out) {
    var names = ["policy_funds", "committee_funds", "owners_share"];
    var sum = 0;
    for (var i = 0; i < names.length; i++) {
      var v = fen(form.elements[names[i]].value);
      if (v === null) { out.textContent = ""; return; }
      sum += v;
    }
    var total = fen(form.elements.total_cost.value);
    var text = out.dataset.label + " " + (sum / 100).toFixed(2);
    if (total !== null) { text += " · " + (total === sum ? out.dataset.ok : out.dataset.bad); }
    out.textContent = text;
    out.classList.toggle("bad", total !== null && total !== sum);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("project-form");
    var out = document.getElementById("share-sum");
    if (!form || !out) { return; }
    form.addEventListener("input", function () { show(form, out); });
    show(form, out);
  });
})();
