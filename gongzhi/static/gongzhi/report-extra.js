// The report page's category (part of report.js): the chosen category and its extra fields
// (补充信息), drawn by the server and fetched by htmx; values typed before they are drawn wait.
(function (R) {
  "use strict";

  var t = function (key, params) { return R.t(key, params); };
  var $ = function (id) { return document.getElementById(id); };

  // --- category suggestions (htmx fills #category-suggestions) ---

  function setCategory(code, label) {
    R.form.elements.category.value = code;
    $("category-chosen-label").textContent = code ? label : "";
    $("category-chosen").hidden = !code;
    var search = R.form.elements.category_q;
    search.hidden = !!code;
    if (code) $("category-suggestions").textContent = "";
    loadExtraFields(code);
  }

  // --- the chosen category's extra fields (补充信息): drawn by the server, fetched by htmx ---

  var pendingExtra = null;   // values to put into the extra fields once they are drawn
  var pendingErrors = null;  // errors to show next to them
  var requestedCategory = null;
  var htmxReady = false;
  var wantExtra = false;

  function extraBox() { return $("extra-fields"); }

  function extraInputs() {
    var box = extraBox();
    return box ? box.querySelectorAll("[data-extra-field]") : [];
  }

  function readExtra() {
    var out = {};
    Array.prototype.forEach.call(extraInputs(), function (input) { out[input.name] = input.value; });
    return out;
  }

  function shownCategory() {
    var root = extraBox() && extraBox().querySelector(".extra-fields");
    return root ? root.dataset.category || "" : "";
  }

  function loadExtraFields(code) {
    var box = extraBox();
    if (!box) return;
    if (code === shownCategory()) { requestedCategory = null; applyPendingExtra(); return; }
    // Same-named fields keep what was typed when the category changes.
    var carried = readExtra();
    Object.keys(pendingExtra || {}).forEach(function (name) { carried[name] = pendingExtra[name]; });
    pendingExtra = carried;
    if (!code) {
      if (requestedCategory && htmxReady && window.htmx) window.htmx.trigger(box, "htmx:abort");
      requestedCategory = null;
      box.textContent = "";
      var root = R.el("div", "extra-fields");
      root.dataset.category = "";
      box.appendChild(root);
      return;
    }
    if (code === requestedCategory) return; // on its way
    requestedCategory = code;
    if (htmxReady && window.htmx) window.htmx.trigger(box, "gz-category");
    else wantExtra = true; // htmx is loaded after this script: ask once it has set the box up
  }

  function applyPendingExtra() {
    if (pendingExtra) {
      var values = pendingExtra;
      Array.prototype.forEach.call(extraInputs(), function (input) {
        if (typeof values[input.name] === "string") input.value = values[input.name];
      });
      pendingExtra = null;
    }
    if (pendingErrors) {
      R.showFieldErrors(pendingErrors, true);
      pendingErrors = null;
    }
  }

  function onExtraProcessed(event) {
    if (event.target !== extraBox() || htmxReady) return;
    htmxReady = true;
    if (wantExtra) { wantExtra = false; window.htmx.trigger(event.target, "gz-category"); }
  }

  function onExtraSwapped(event) {
    if (event.target !== extraBox()) return;
    requestedCategory = null;
    // An answer that arrived after the category was changed again: draw the current one instead.
    if (shownCategory() !== R.form.elements.category.value) { loadExtraFields(R.form.elements.category.value); return; }
    applyPendingExtra();
    R.saveDraftSoon();
  }

  function onExtraFailed(event) {
    if (event.target !== extraBox()) return;
    // Offline and never seen before: say so; the values typed so far stay pending.
    requestedCategory = null;
    var box = extraBox();
    box.textContent = "";
    var root = R.el("div", "extra-fields");
    root.dataset.category = "";
    root.appendChild(R.el("p", "hint extra-note", t("extraOffline")));
    box.appendChild(root);
  }

  // What the extra fields hold, with the values still waiting for them to be drawn.
  function extraValues() {
    var extra = readExtra();
    Object.keys(pendingExtra || {}).forEach(function (name) {
      if (!(name in extra)) extra[name] = pendingExtra[name];
    });
    return extra;
  }

  function setPendingExtra(values) { pendingExtra = values; }
  function setPendingErrors(errors) { pendingErrors = errors; }

  // htmx (loaded after this script) announces each element it has set up, the extra-fields box too.
  document.addEventListener("htmx:afterProcessNode", onExtraProcessed);
  R.setCategory = setCategory;
  R.loadExtraFields = loadExtraFields;
  R.shownCategory = shownCategory;
  R.applyPendingExtra = applyPendingExtra;
  R.onExtraSwapped = onExtraSwapped;
  R.onExtraFailed = onExtraFailed;
  R.extraInputs = extraInputs;
  R.extraValues = extraValues;
  R.setPendingExtra = setPendingExtra;
  R.setPendingErrors = setPendingErrors;
})(window.gongzhiReport = window.gongzhiReport || {});
