// The phone report page (上报问题): draft kept in localStorage, photos previewed, the location from
// GPS corrected on a Leaflet map, category suggestions (htmx), and an offline queue in IndexedDB
// sent when the network returns (Background Sync in the service worker, and here on `online` and
// on every page load). Each submission carries an idempotency key made in the browser, so a double
// tap or a retry never makes a second case. Loaded as files (the CSP forbids inline script), this
// one last: report-queue.js (the offline queue), report-extra.js (category and extra fields),
// report-map.js (GPS and pin) and report-nearby.js (similar open cases) put their functions on
// window.gongzhiReport (R), where this file puts the shared state (R.form, R.userId, R.postUrl) and
// helpers (R.t, R.el, R.showStatus …), then starts the page.
(function (R) {
  "use strict";

  var DRAFT_PREFIX = "gongzhi:report:draft:";
  var USED_KEYS = "gongzhi:report:used-keys";
  var DRAFT_FIELDS = ["title", "description", "address", "category", "category_q", "lon", "lat"];

  var strings = {};
  var form = null; // the report form (also R.form), on the report page only
  R.userId = "";
  R.postUrl = "/report/";

  function t(key, params) {
    var text = strings[key] || key;
    if (params) {
      Object.keys(params).forEach(function (name) {
        text = text.split("%(" + name + ")s").join(String(params[name]));
      });
    }
    return text;
  }

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // Not a secure context (plain HTTP): build a version 4 UUID from getRandomValues.
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function showStatus(text, kind) {
    var el = $("report-status");
    if (!el) return;
    el.textContent = text;
    el.className = "report-status" + (kind ? " " + kind : "");
    el.hidden = !text;
    el.dataset.queue = "";
  }

  // --- the draft (text fields and the pin; photos can't be kept in localStorage) ---

  function draftKey() { return DRAFT_PREFIX + R.userId; }

  function readFields() {
    var fields = {};
    DRAFT_FIELDS.forEach(function (name) {
      var input = form.elements[name];
      if (input) fields[name] = input.value;
    });
    // The chosen category's extra fields ("extra.<name>"), and any still waiting to be drawn.
    var extra = R.extraValues();
    Object.keys(extra).forEach(function (name) { fields[name] = extra[name]; });
    fields.urgent = form.elements.urgent.checked ? "on" : "";
    fields.category_label = $("category-chosen-label").textContent;
    return fields;
  }

  function fillForm(fields) {
    DRAFT_FIELDS.forEach(function (name) {
      var input = form.elements[name];
      if (input && typeof fields[name] === "string") input.value = fields[name];
    });
    form.elements.urgent.checked = fields.urgent === "on";
    var extra = {};
    Object.keys(fields).forEach(function (name) {
      if (name.indexOf("extra.") === 0 && typeof fields[name] === "string") extra[name] = fields[name];
    });
    R.setPendingExtra(extra);
    R.setCategory(fields.category || "", fields.category_label || "");
    R.placeFromInputs(true);
  }

  var draftTimer = null;
  function saveDraftSoon() {
    window.clearTimeout(draftTimer);
    draftTimer = window.setTimeout(saveDraft, 300);
    R.nearbySoon(); // whatever changed the draft may change which open cases look alike
  }

  function saveDraft() {
    try {
      var fields = readFields();
      var empty = DRAFT_FIELDS.every(function (n) { return !fields[n]; }) && !fields.urgent;
      if (empty) localStorage.removeItem(draftKey());
      else localStorage.setItem(draftKey(), JSON.stringify({ fields: fields, savedAt: Date.now() }));
    } catch (e) { /* storage full or disabled: the draft is a convenience */ }
  }

  function clearDraft(uid) {
    window.clearTimeout(draftTimer);
    try { localStorage.removeItem(DRAFT_PREFIX + (uid || R.userId)); } catch (e) { /* ignore */ }
  }

  function restoreDraft() {
    var raw = null;
    try { raw = localStorage.getItem(draftKey()); } catch (e) { return; }
    if (!raw) return;
    var draft;
    try { draft = JSON.parse(raw); } catch (e) { clearDraft(); return; }
    if (!draft || !draft.fields) return;
    fillForm(draft.fields);
    showStatus(t("draftRestored"));
  }

  function usedKeys() {
    try { return JSON.parse(sessionStorage.getItem(USED_KEYS) || "[]"); } catch (e) { return []; }
  }

  function markKeyUsed(key) {
    try {
      var keys = usedKeys().concat([key]).slice(-20);
      sessionStorage.setItem(USED_KEYS, JSON.stringify(keys));
    } catch (e) { /* ignore */ }
  }

  function ensureKey(forceNew) {
    var input = form.elements.idempotency_key;
    if (forceNew || !input.value || usedKeys().indexOf(input.value) >= 0) input.value = newKey();
  }

  // --- photos: kept in a list (a camera returns one photo per pick), mirrored into the input ---

  var photoList = [];
  var previewUrls = [];

  function maxPhotos() { return parseInt(form.dataset.maxPhotos, 10) || 9; }
  function maxBytes() { return (parseInt(form.dataset.maxPhotoMb, 10) || 10) * 1024 * 1024; }

  function onPhotosPicked() {
    var input = form.elements.photos;
    var notes = [];
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (file.type && file.type.indexOf("image/") !== 0) {
        notes.push(t("notImage", { name: file.name }));
      } else if (file.size > maxBytes()) {
        notes.push(t("tooBig", { name: file.name, mb: form.dataset.maxPhotoMb }));
      } else if (photoList.length >= maxPhotos()) {
        if (notes.indexOf(t("tooMany", { n: maxPhotos() })) < 0) notes.push(t("tooMany", { n: maxPhotos() }));
      } else {
        photoList.push(file);
      }
    });
    showFieldErrors({ photos: notes }, true);
    syncPhotos();
  }

  function syncPhotos() {
    var input = form.elements.photos;
    try {
      var dt = new DataTransfer();
      photoList.forEach(function (f) { dt.items.add(f); });
      input.files = dt.files;
    } catch (e) { /* old browser: the list is still sent by report.js */ }
    previewUrls.forEach(function (u) { URL.revokeObjectURL(u); });
    previewUrls = [];
    var ul = $("photo-previews");
    ul.textContent = "";
    photoList.forEach(function (file, index) {
      var li = el("li");
      var img = el("img");
      var url = URL.createObjectURL(file);
      previewUrls.push(url);
      img.src = url;
      img.alt = file.name;
      li.appendChild(img);
      var remove = el("button", "", "×");
      remove.type = "button";
      remove.dataset.photoIndex = String(index);
      remove.setAttribute("aria-label", t("removePhoto"));
      li.appendChild(remove);
      ul.appendChild(li);
    });
  }

  function storedPhotos() {
    // Read into memory now: a camera's temporary file may be gone when the network returns.
    return Promise.all(photoList.map(function (file) {
      return file.arrayBuffer().then(function (buffer) {
        return { name: file.name || "photo.jpg", type: file.type, blob: new Blob([buffer], { type: file.type }) };
      });
    }));
  }
  // --- errors next to the fields ---

  function showFieldErrors(fields, only) {
    var boxes = form.querySelectorAll("[data-error-for]");
    Array.prototype.forEach.call(boxes, function (box) {
      var name = box.dataset.errorFor;
      if (only && !(name in fields)) return;
      var messages = (fields[name] || []).concat(name === "lon" ? fields.lat || [] : []);
      box.textContent = messages.join(" ");
      var input = form.elements[name === "category" ? "category_q" : name];
      if (input && input.setAttribute && name !== "lon") {
        if (messages.length) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      }
    });
  }

  function focusFirstError() {
    var box = form.querySelector(".field-error:not(:empty)");
    if (!box) return;
    var name = box.dataset.errorFor;
    var input = name === "lon" ? $("locate-me") : form.elements[name === "category" ? "category_q" : name];
    box.scrollIntoView({ block: "center" });
    if (input && input.focus && input.type !== "hidden" && !input.hidden) input.focus({ preventScroll: true });
  }

  function precheck() {
    var errors = {};
    if (!form.elements.title.value.trim()) errors.title = [t("titleRequired")];
    if (!form.elements.lon.value && !form.elements.address.value.trim()) errors.address = [t("placeRequired")];
    Array.prototype.forEach.call(R.extraInputs(), function (input) {
      if (input.validity && input.validity.badInput) errors[input.name] = [t("notNumber")];
      else if (input.hasAttribute("data-extra-required") && !input.value.trim()) {
        errors[input.name] = [input.dataset.requiredMessage];
      }
    });
    return errors;
  }

  // --- submitting ---

  var submitting = false;

  function setBusy(on) {
    submitting = on;
    var button = $("report-submit");
    button.disabled = on;
    button.textContent = on ? t("sending") : t("submit");
  }

  function resetForm() {
    // Not form.reset(): after a server-side error the defaults are what the user typed then.
    DRAFT_FIELDS.forEach(function (n) { if (form.elements[n]) form.elements[n].value = ""; });
    form.elements.urgent.checked = false;
    Array.prototype.forEach.call(R.extraInputs(), function (input) { input.value = ""; });
    R.setPendingExtra(null);
    R.setCategory("", "");
    R.setPendingExtra(null);
    photoList = [];
    syncPhotos();
    R.clearPoint();
    clearDraft();
    showFieldErrors({});
    ensureKey(true);
    var old = $("report-errors");
    if (old) old.hidden = true;
  }

  function onSubmit(event) {
    event.preventDefault();
    if (submitting) return; // a double tap: the first request is on its way
    var errors = precheck();
    showFieldErrors(errors);
    if (Object.keys(errors).length) {
      showStatus(t("fixErrors"), "bad");
      focusFirstError();
      return;
    }
    ensureKey(false);
    var fields = readFields();
    fields.idempotency_key = form.elements.idempotency_key.value;
    var item = { key: fields.idempotency_key, user: R.userId, createdAt: Date.now(), fields: fields, photos: [],
                 attempts: 0 };

    function queueNow(note) {
      return storedPhotos().then(function (photos) {
        item.photos = photos;
        return R.queueItem(item, note);
      }).then(function () {
        markKeyUsed(item.key);
        resetForm();
        showStatus(note || t("queued"), "warn");
        $("report-status").dataset.queue = "1";
        setBusy(false);
        window.scrollTo(0, 0);
      }).catch(function () {
        setBusy(false);
        showStatus(t("serverBusy"), "bad");
      });
    }

    setBusy(true);
    if (navigator.onLine === false) { queueNow(); return; }
    var body = new FormData();
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    photoList.forEach(function (file) { body.append("photos", file, file.name); });
    R.send(body).then(function (result) {
      if (result.kind === "sent") {
        markKeyUsed(item.key);
        clearDraft();
        window.location.assign(result.body.url);
        return;
      }
      if (result.kind === "invalid") {
        setBusy(false);
        var payload = result.body && result.body.error;
        var fields = payload ? payload.fields || {} : {};
        showFieldErrors(fields);
        var general = fields.__all__ ? " " + fields.__all__.join(" ") : "";
        Object.keys(fields).forEach(function (name) { // an error without a place on the page
          if (name !== "__all__" && !form.querySelector('[data-error-for="' + name.replace(/["\\]/g, "") + '"]')) {
            general += " " + fields[name].join(" ");
          }
        });
        showStatus((payload ? payload.message : t("fixErrors")) + general, "bad");
        focusFirstError();
        return;
      }
      queueNow(result.kind === "login" ? t("queuedLogin") : result.status ? t("serverBusy") : "");
    });
  }
  // A queued report the server refused, back into the form to be corrected (the queue's "edit").
  function restoreFromQueue(item) {
    fillForm(item.fields);
    photoList = (item.photos || []).map(function (p) {
      return new File([p.blob], p.name, { type: p.type || p.blob.type });
    });
    syncPhotos();
    showFieldErrors(item.errors || {});
    R.setPendingErrors(item.errors || null); // errors of extra fields: shown once they are drawn
    if (R.shownCategory() === (item.fields.category || "")) R.applyPendingExtra();
  }

  R.t = t;
  R.el = el;
  R.csrfToken = csrfToken;
  R.showStatus = showStatus;
  R.showFieldErrors = showFieldErrors;
  R.saveDraft = saveDraft;
  R.saveDraftSoon = saveDraftSoon;
  R.clearDraft = clearDraft;
  R.restoreFromQueue = restoreFromQueue;

  // --- start ---

  function readStrings() {
    var node = $("report-strings");
    if (!node) return {};
    try { return JSON.parse(node.textContent); } catch (e) { return {}; }
  }

  function registerWorker(scriptUrl, scope) {
    if (!("serviceWorker" in navigator) || !scriptUrl) return;
    navigator.serviceWorker.register(scriptUrl, { scope: scope }).catch(function () {});
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "queue-changed") R.renderQueue();
    });
  }

  function initForm() {
    form = R.form = $("report-form");
    R.userId = form.dataset.user || "";
    R.postUrl = form.dataset.post || R.postUrl;
    if (form.dataset.bound !== "1") restoreDraft();
    ensureKey(false);
    R.initMap();
    R.placeFromInputs(true);
    var chosen = $("category-chosen-label").textContent.trim();
    R.setCategory(form.elements.category.value, chosen || form.elements.category.value);

    form.addEventListener("input", function (e) { if (e.target.name !== "photos") saveDraftSoon(); });
    form.addEventListener("change", function (e) {
      if (e.target.name === "photos") onPhotosPicked();
      else saveDraftSoon();
    });
    form.addEventListener("submit", onSubmit);
    form.elements.category_q.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      e.preventDefault(); // Enter picks the first suggestion rather than sending the report
      var first = $("category-suggestions").querySelector(".suggest-item");
      if (first) { R.setCategory(first.dataset.code, first.dataset.label); saveDraftSoon(); }
    });
    form.addEventListener("click", function (e) {
      var item = e.target.closest(".suggest-item");
      if (item) { R.setCategory(item.dataset.code, item.dataset.label); saveDraftSoon(); return; }
      if (e.target.id === "category-clear") {
        R.setCategory("", "");
        form.elements.category_q.focus();
        saveDraftSoon();
        return;
      }
      if (e.target.id === "locate-me") { R.locate(); return; }
      if (e.target.id === "clear-pin") { R.clearPoint(); return; }
      var remove = e.target.closest("[data-photo-index]");
      if (remove) {
        photoList.splice(parseInt(remove.dataset.photoIndex, 10), 1);
        syncPhotos();
      }
    });
    document.body.addEventListener("htmx:sendError", function (e) {
      if (e.target === form.elements.category_q) $("category-suggestions").textContent = t("categoryOffline");
      R.onExtraFailed(e);
    });
    document.body.addEventListener("htmx:afterSwap", R.onExtraSwapped);
    window.addEventListener("online", function () {
      if (form.elements.category.value && R.shownCategory() !== form.elements.category.value) {
        R.loadExtraFields(form.elements.category.value);
      }
    });
    R.initNearby();
    // Back to a page the browser kept in memory after a submission: start a new report.
    window.addEventListener("pageshow", function (e) {
      if (!e.persisted) return;
      setBusy(false);
      if (usedKeys().indexOf(form.elements.idempotency_key.value) >= 0) resetForm();
    });
  }

  function init() {
    strings = readStrings();
    var done = $("report-done");
    if (done) {
      // The plain-form path ends here: the report is in, the draft can go.
      clearDraft(done.dataset.user);
      return;
    }
    if ($("report-form")) initForm();
    var queue = $("report-queue");
    if (!queue) return;
    queue.addEventListener("click", R.onQueueClick);
    if (!R.userId) R.userId = queue.dataset.user || "";
    var ready = R.userId ? R.rememberSession() : R.idb.meta().then(function (m) { R.userId = (m && m.user) || ""; },
                                                            function () {});
    ready.then(function () {
      if (form) registerWorker(form.dataset.sw, form.dataset.scope);
      return R.renderQueue();
    }).then(R.flushQueue).then(function () { R.scheduleRetry(); });
    window.addEventListener("online", function () { R.rememberSession().then(R.flushQueue); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})(window.gongzhiReport = window.gongzhiReport || {});