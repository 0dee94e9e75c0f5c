// The phone report page (上报问题): draft kept in localStorage, photos previewed, the location from
// GPS corrected on a Leaflet map, category suggestions (htmx), and an offline queue in IndexedDB
// sent when the network returns (Background Sync in the service worker, and here on `online` and
// on every page load). Each submission carries an idempotency key made in the browser, so a double
// tap or a retry never makes a second case. Loaded as a file: the CSP forbids inline script.
(function () {
  "use strict";

  var DB_NAME = "gongzhi-report";
  var DB_VERSION = 1;
  var QUEUE = "queue";
  var META = "meta";
  var SYNC_TAG = "gongzhi-report-queue";
  var DRAFT_PREFIX = "gongzhi:report:draft:";
  var USED_KEYS = "gongzhi:report:used-keys";
  var DRAFT_FIELDS = ["title", "description", "address", "category", "category_q", "lon", "lat"];
  var SENT_KEEP_MS = 3 * 24 * 3600 * 1000; // sent items stay listed for three days

  var strings = {};
  var form = null;
  var userId = "";
  var postUrl = "/report/";
  var flushing = false;
  var retryTimer = null;

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

  // --- IndexedDB: the queue of submissions and the session (user, CSRF token) for the worker ---

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains(QUEUE)) db.createObjectStore(QUEUE, { keyPath: "key" });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, { keyPath: "id" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function withStore(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result;
        var req = work(tx.objectStore(name));
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var idb = {
    all: function () { return withStore(QUEUE, "readonly", function (s) { return s.getAll(); }); },
    get: function (key) { return withStore(QUEUE, "readonly", function (s) { return s.get(key); }); },
    put: function (item) { return withStore(QUEUE, "readwrite", function (s) { return s.put(item); }); },
    remove: function (key) { return withStore(QUEUE, "readwrite", function (s) { return s.delete(key); }); },
    meta: function () { return withStore(META, "readonly", function (s) { return s.get("session"); }); },
    setMeta: function (value) {
      value.id = "session";
      return withStore(META, "readwrite", function (s) { return s.put(value); });
    }
  };

  function rememberSession() {
    if (!userId) return Promise.resolve();
    return idb.setMeta({ user: userId, csrf: csrfToken(), post: postUrl }).catch(function () {});
  }

  // --- sending one submission (the same rules as the service worker's) ---

  function formDataOf(item) {
    var data = new FormData();
    Object.keys(item.fields).forEach(function (name) { data.append(name, item.fields[name]); });
    (item.photos || []).forEach(function (p) { data.append("photos", p.blob, p.name); });
    return data;
  }

  // → {kind: "sent"|"invalid"|"login"|"retry", body, status}
  function send(body) {
    return fetch(postUrl, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0
        ? response.json().catch(function () { return null; }) : Promise.resolve(null);
      return json.then(function (payload) {
        var s = response.status;
        if ((s === 200 || s === 201) && payload && payload.number) return { kind: "sent", body: payload, status: s };
        if (s === 400 && payload && payload.error) return { kind: "invalid", body: payload, status: s };
        if (s === 401 || s === 403 || response.type === "opaqueredirect") return { kind: "login", status: s };
        if (s === 400 || s === 413) return { kind: "invalid", body: null, status: s };
        return { kind: "retry", status: s };
      });
    }, function () { return { kind: "retry", status: 0 }; }); // network error: offline
  }

  // --- the queue ---

  function registerSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync && reg.sync.register) return reg.sync.register(SYNC_TAG);
    }).catch(function () {});
  }

  function queueItem(item, note) {
    item.status = "queued";
    item.message = note || "";
    return rememberSession().then(function () { return idb.put(item); }).then(function () {
      registerSync();
      scheduleRetry();
      return renderQueue();
    });
  }

  function flushQueue() {
    if (flushing || !userId || navigator.onLine === false) return Promise.resolve();
    flushing = true;
    var numbers = [];
    return idb.all().then(function (items) {
      var pending = items.filter(function (i) { return i.user === userId && i.status === "queued"; });
      pending.sort(function (a, b) { return a.createdAt - b.createdAt; });
      // One after another: a flaky network gets one request at a time.
      return pending.reduce(function (chain, item) {
        return chain.then(function () { return sendQueued(item); }).then(function (done) {
          if (done && done.status === "sent") numbers.push(done.number);
        });
      }, Promise.resolve());
    }).catch(function () {}).then(function () {
      flushing = false;
      if (numbers.length) showStatus(t("sent") + "：" + t("caseNumber") + " " + numbers.join("、"));
      return renderQueue();
    });
  }

  function sendQueued(item) {
    markSending(item.key);
    return send(formDataOf(item)).then(function (result) {
      return idb.get(item.key).then(function (current) {
        if (!current || current.status === "sent") return; // the worker got there first
        current.attempts = (current.attempts || 0) + 1;
        current.lastTriedAt = Date.now();
        if (result.kind === "sent") {
          current.status = "sent";
          current.number = result.body.number;
          current.url = result.body.url;
          current.photos = []; // the server has them now
          current.sentAt = Date.now();
          current.message = "";
        } else if (result.kind === "invalid") {
          current.status = "failed";
          current.message = errorText(result.body);
          current.errors = result.body && result.body.error ? result.body.error.fields : {};
        } else {
          current.message = result.kind === "login" ? t("queuedLogin") : "";
        }
        return idb.put(current).then(function () { return current; });
      });
    });
  }

  function errorText(payload) {
    if (!payload || !payload.error) return t("failed");
    var fields = payload.error.fields || {};
    var parts = [];
    Object.keys(fields).forEach(function (name) { parts = parts.concat(fields[name]); });
    return parts.length ? parts.join(" ") : payload.error.message;
  }

  function markSending(key) {
    var li = document.querySelector('#report-queue-list li[data-key="' + key + '"] .q-state');
    if (li) li.textContent = t("queueSending");
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = window.setInterval(function () {
      idb.all().then(function (items) {
        var waiting = items.some(function (i) { return i.user === userId && i.status === "queued"; });
        if (!waiting) { window.clearInterval(retryTimer); retryTimer = null; return; }
        flushQueue();
      }).catch(function () {});
    }, 30000);
  }

  function formatTime(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" +
      two(d.getMinutes());
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderQueue() {
    var section = $("report-queue");
    var list = $("report-queue-list");
    if (!section || !list) return Promise.resolve();
    return idb.all().then(function (items) {
      var now = Date.now();
      var mine = items.filter(function (i) { return i.user === userId; });
      // Forget sent items after a few days.
      mine.filter(function (i) { return i.status === "sent" && now - (i.sentAt || 0) > SENT_KEEP_MS; })
        .forEach(function (i) { idb.remove(i.key); });
      mine = mine.filter(function (i) { return !(i.status === "sent" && now - (i.sentAt || 0) > SENT_KEEP_MS); });
      mine.sort(function (a, b) { return b.createdAt - a.createdAt; });
      list.textContent = "";
      mine.forEach(function (item) { list.appendChild(queueRow(item)); });
      section.hidden = mine.length === 0;
      if (!mine.some(function (i) { return i.status === "queued"; })) {
        var status = $("report-status");
        if (status && status.dataset.queue === "1") { showStatus(""); status.dataset.queue = ""; }
      }
    }).catch(function () { section.hidden = true; });
  }

  function queueRow(item) {
    var li = el("li");
    li.dataset.key = item.key;
    li.dataset.status = item.status;
    li.appendChild(el("span", "q-title", item.fields.title || "—"));
    var label = item.status === "sent" ? t("sent") : item.status === "failed" ? t("failed") : t("waiting");
    li.appendChild(el("span", "q-state " + item.status, label));
    var meta = el("span", "q-meta", t("savedAt") + " " + formatTime(item.createdAt));
    if (item.status === "sent" && item.number) {
      meta.appendChild(document.createTextNode(" · " + t("caseNumber") + " "));
      var link = el("a", "q-number", item.number);
      link.href = item.url;
      meta.appendChild(link);
    } else if (item.message) {
      meta.appendChild(document.createTextNode(" · " + item.message));
    }
    li.appendChild(meta);
    var actions = el("span", "q-actions");
    if (item.status === "queued") actions.appendChild(actionButton(t("retry"), "retry", item.key));
    if (item.status === "failed" && form) actions.appendChild(actionButton(t("edit"), "edit", item.key));
    if (item.status !== "queued" || item.message) actions.appendChild(actionButton(t("remove"), "remove", item.key));
    if (actions.childNodes.length) li.appendChild(actions);
    return li;
  }

  function actionButton(text, action, key) {
    var b = el("button", "link", text);
    b.type = "button";
    b.dataset.queueAction = action;
    b.dataset.key = key;
    return b;
  }

  function onQueueClick(event) {
    var button = event.target.closest("[data-queue-action]");
    if (!button) return;
    var key = button.dataset.key;
    var action = button.dataset.queueAction;
    if (action === "retry") { flushQueue(); return; }
    if (action === "remove") { idb.remove(key).then(renderQueue); return; }
    if (action === "edit") {
      idb.get(key).then(function (item) {
        if (!item) return;
        fillForm(item.fields);
        photoList = (item.photos || []).map(function (p) {
          return new File([p.blob], p.name, { type: p.type || p.blob.type });
        });
        syncPhotos();
        showFieldErrors(item.errors || {});
        pendingErrors = item.errors || null; // errors of extra fields: shown once they are drawn
        if (shownCategory() === (item.fields.category || "")) applyPendingExtra();
        return idb.remove(key); // the form holds it now; the draft keeps the text
      }).then(function () { saveDraft(); renderQueue(); form.scrollIntoView(); });
    }
  }

  // --- the draft (text fields and the pin; photos can't be kept in localStorage) ---

  function draftKey() { return DRAFT_PREFIX + userId; }

  function readFields() {
    var fields = {};
    DRAFT_FIELDS.forEach(function (name) {
      var input = form.elements[name];
      if (input) fields[name] = input.value;
    });
    // The chosen category's extra fields ("extra.<name>"), and any still waiting to be drawn.
    var extra = readExtra();
    Object.keys(pendingExtra || {}).forEach(function (name) {
      if (!(name in extra)) extra[name] = pendingExtra[name];
    });
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
    pendingExtra = extra;
    setCategory(fields.category || "", fields.category_label || "");
    placeFromInputs(true);
  }

  var draftTimer = null;
  function saveDraftSoon() {
    window.clearTimeout(draftTimer);
    draftTimer = window.setTimeout(saveDraft, 300);
    nearbySoon(); // whatever changed the draft may change which open cases look alike
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
    try { localStorage.removeItem(DRAFT_PREFIX + (uid || userId)); } catch (e) { /* ignore */ }
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

  // --- category suggestions (htmx fills #category-suggestions) ---

  function setCategory(code, label) {
    form.elements.category.value = code;
    $("category-chosen-label").textContent = code ? label : "";
    $("category-chosen").hidden = !code;
    var search = form.elements.category_q;
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
      var root = el("div", "extra-fields");
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
      showFieldErrors(pendingErrors, true);
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
    if (shownCategory() !== form.elements.category.value) { loadExtraFields(form.elements.category.value); return; }
    applyPendingExtra();
    saveDraftSoon();
  }

  function onExtraFailed(event) {
    if (event.target !== extraBox()) return;
    // Offline and never seen before: say so; the values typed so far stay pending.
    requestedCategory = null;
    var box = extraBox();
    box.textContent = "";
    var root = el("div", "extra-fields");
    root.dataset.category = "";
    root.appendChild(el("p", "hint extra-note", t("extraOffline")));
    box.appendChild(root);
  }

  // --- the map: GPS, then a pin the user may drag or move by tapping ---

  var map = null;
  var marker = null;

  function coordsText(lat, lon) { return t("coords", { lon: lon.toFixed(5), lat: lat.toFixed(5) }); }

  function setPoint(lat, lon, opts) {
    opts = opts || {};
    form.elements.lon.value = lon.toFixed(6);
    form.elements.lat.value = lat.toFixed(6);
    if (map) {
      if (!marker) {
        var icon = L.divIcon({ className: "report-pin-wrap", html: '<span class="report-pin"></span>',
                               iconSize: [28, 28], iconAnchor: [14, 34] });
        marker = L.marker([lat, lon], { draggable: true, icon: icon, keyboard: true, title: t("pinSet") }).addTo(map);
        marker.on("dragend", function () {
          var p = marker.getLatLng();
          setPoint(p.lat, p.lng, { keepView: true });
        });
      } else {
        marker.setLatLng([lat, lon]);
      }
      if (!opts.keepView) map.setView([lat, lon], Math.max(map.getZoom(), opts.zoom || 16));
    }
    $("place-info").textContent = (opts.note ? opts.note + " " : t("pinSet") + "：") + coordsText(lat, lon);
    if (!opts.quiet) {
      showFieldErrors({ lon: [] }, true);
      saveDraftSoon();
    }
  }

  function clearPoint() {
    form.elements.lon.value = "";
    form.elements.lat.value = "";
    if (marker) { map.removeLayer(marker); marker = null; }
    $("place-info").textContent = t("noPin");
    saveDraftSoon();
  }

  function placeFromInputs(quiet) {
    var lon = parseFloat(form.elements.lon.value);
    var lat = parseFloat(form.elements.lat.value);
    if (isFinite(lon) && isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90) {
      setPoint(lat, lon, { quiet: quiet });
    } else if (marker) {
      map.removeLayer(marker);
      marker = null;
    }
  }

  function initMap() {
    var box = $("report-map");
    if (!box || typeof L === "undefined") return;
    map = L.map(box, { zoomControl: true, attributionControl: !!box.dataset.tiles });
    if (box.dataset.tiles) {
      L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
    }
    var b = (box.dataset.bounds || "").split(",").map(parseFloat);
    if (b.length === 4 && b.every(isFinite)) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [8, 8] });
    else map.setView([35, 105], 4);
    if (box.dataset.outline) {
      fetch(box.dataset.outline, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (data) {
          L.geoJSON(data, { interactive: false, style: function (f) {
            return f.properties.role === "self" ? { color: "#1f5fbf", weight: 2, fill: false }
              : { color: "#1f5fbf", weight: 1, opacity: 0.5, fillOpacity: 0.05 };
          } }).addTo(map);
        }).catch(function () {});
    }
    L.control.scale({ imperial: false }).addTo(map);
    map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, { keepView: true }); });
    box.dataset.ready = "1";
  }

  function locate() {
    if (!navigator.geolocation) { $("place-info").textContent = t("noGeolocation"); return; }
    var button = $("locate-me");
    button.disabled = true;
    $("place-info").textContent = t("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      button.disabled = false;
      var c = pos.coords;
      setPoint(c.latitude, c.longitude, { zoom: 17, note: t("located", { m: Math.round(c.accuracy || 0) }) });
    }, function (err) {
      button.disabled = false;
      $("place-info").textContent = err && err.code === 1 ? t("geoDenied") : t("geoFailed");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
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
    Array.prototype.forEach.call(extraInputs(), function (input) {
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
    Array.prototype.forEach.call(extraInputs(), function (input) { input.value = ""; });
    pendingExtra = null;
    setCategory("", "");
    pendingExtra = null;
    photoList = [];
    syncPhotos();
    clearPoint();
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
    var item = { key: fields.idempotency_key, user: userId, createdAt: Date.now(), fields: fields, photos: [],
                 attempts: 0 };

    function queueNow(note) {
      return storedPhotos().then(function (photos) {
        item.photos = photos;
        return queueItem(item, note);
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
    send(body).then(function (result) {
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

  // --- similar open cases nearby (cases/duplicates.py): follow one instead of reporting it again ---

  var nearbyTimer = null;
  var nearbyQuery = "";
  var nearbyDismissed = "";

  function nearbySoon() {
    if (!$("nearby")) return;
    window.clearTimeout(nearbyTimer);
    nearbyTimer = window.setTimeout(loadNearby, 600);
  }

  function nearbyNumbers(box) {
    return Array.prototype.map.call(box.querySelectorAll("[data-number]"), function (n) {
      return n.dataset.number;
    }).join(",");
  }

  function loadNearby() {
    var box = $("nearby");
    if (!box || !form || navigator.onLine === false) return;
    var lon = form.elements.lon.value;
    var lat = form.elements.lat.value;
    var title = form.elements.title.value.trim();
    var description = form.elements.description.value.trim();
    if (!lon || !lat || (title + description).length < 2) {
      nearbyQuery = "";
      box.hidden = true;
      box.textContent = "";
      return;
    }
    var query = new URLSearchParams({ lon: lon, lat: lat, title: title.slice(0, 100),
                                      description: description.slice(0, 1000),
                                      category: form.elements.category.value }).toString();
    if (query === nearbyQuery) return;
    nearbyQuery = query;
    fetch(box.dataset.url + "?" + query, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        if (query !== nearbyQuery) return; // an older answer
        var doc = new DOMParser().parseFromString(html, "text/html");
        box.textContent = "";
        Array.prototype.forEach.call(doc.body.childNodes, function (node) {
          box.appendChild(document.importNode(node, true));
        });
        var numbers = nearbyNumbers(box);
        box.hidden = !numbers || numbers === nearbyDismissed;
      }).catch(function () { nearbyQuery = ""; });
  }

  function followCase(button) {
    var data = new FormData();
    data.append("number", button.dataset.follow);
    data.append("lon", form.elements.lon.value);
    data.append("lat", form.elements.lat.value);
    button.disabled = true;
    fetch($("nearby").dataset.followUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() }
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok && res.body && res.body.url) {
        clearDraft(); // followed instead of reported: nothing left to send
        window.location.assign(res.body.url);
        return;
      }
      button.disabled = false;
      showStatus((res.body && res.body.error && res.body.error.message) || t("followFailed"), "bad");
    }).catch(function () {
      button.disabled = false;
      showStatus(t("followFailed"), "bad");
    });
  }

  function initNearby() {
    var box = $("nearby");
    if (!box) return;
    box.addEventListener("click", function (e) {
      var follow = e.target.closest("[data-follow]");
      if (follow) { e.preventDefault(); followCase(follow); return; }
      if (e.target.id === "nearby-dismiss") {
        nearbyDismissed = nearbyNumbers(box);
        box.hidden = true;
        $("report-submit").focus();
      }
    });
    nearbySoon();
  }

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
      if (event.data && event.data.type === "queue-changed") renderQueue();
    });
  }

  function initForm() {
    form = $("report-form");
    userId = form.dataset.user || "";
    postUrl = form.dataset.post || postUrl;
    if (form.dataset.bound !== "1") restoreDraft();
    ensureKey(false);
    initMap();
    placeFromInputs(true);
    var chosen = $("category-chosen-label").textContent.trim();
    setCategory(form.elements.category.value, chosen || form.elements.category.value);

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
      if (first) { setCategory(first.dataset.code, first.dataset.label); saveDraftSoon(); }
    });
    form.addEventListener("click", function (e) {
      var item = e.target.closest(".suggest-item");
      if (item) { setCategory(item.dataset.code, item.dataset.label); saveDraftSoon(); return; }
      if (e.target.id === "category-clear") {
        setCategory("", "");
        form.elements.category_q.focus();
        saveDraftSoon();
        return;
      }
      if (e.target.id === "locate-me") { locate(); return; }
      if (e.target.id === "clear-pin") { clearPoint(); return; }
      var remove = e.target.closest("[data-photo-index]");
      if (remove) {
        photoList.splice(parseInt(remove.dataset.photoIndex, 10), 1);
        syncPhotos();
      }
    });
    document.body.addEventListener("htmx:sendError", function (e) {
      if (e.target === form.elements.category_q) $("category-suggestions").textContent = t("categoryOffline");
      onExtraFailed(e);
    });
    document.body.addEventListener("htmx:afterSwap", onExtraSwapped);
    window.addEventListener("online", function () {
      if (form.elements.category.value && shownCategory() !== form.elements.category.value) {
        loadExtraFields(form.elements.category.value);
      }
    });
    initNearby();
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
    queue.addEventListener("click", onQueueClick);
    if (!userId) userId = queue.dataset.user || "";
    var ready = userId ? rememberSession() : idb.meta().then(function (m) { userId = (m && m.user) || ""; },
                                                            function () {});
    ready.then(function () {
      if (form) registerWorker(form.dataset.sw, form.dataset.scope);
      return renderQueue();
    }).then(flushQueue).then(function () { scheduleRetry(); });
    window.addEventListener("online", function () { rememberSession().then(flushQueue); });
  }

  // htmx (loaded after this script) announces each element it has set up, the extra-fields box too.
  document.addEventListener("htmx:afterProcessNode", onExtraProcessed);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
