// The report page's offline queue (part of report.js, which wires it up): submissions kept in
// IndexedDB with the session (user, CSRF token) for the service worker, sent one after another when
// the network is back, listed with their state. Shared state and helpers live on window.gongzhiReport.
(function (R) {
  "use strict";

  var DB_NAME = "gongzhi-report";
  var DB_VERSION = 1;
  var QUEUE = "queue";
  var META = "meta";
  var SYNC_TAG = "gongzhi-report-queue";
  var SENT_KEEP_MS = 3 * 24 * 3600 * 1000; // sent items stay listed for three days

  var flushing = false;
  var retryTimer = null;
  var t = function (key, params) { return R.t(key, params); };
  var $ = function (id) { return document.getElementById(id); };

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
    if (!R.userId) return Promise.resolve();
    return idb.setMeta({ user: R.userId, csrf: R.csrfToken(), post: R.postUrl }).catch(function () {});
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
    return fetch(R.postUrl, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "Accept": "application/json", "X-CSRFToken": R.csrfToken() }
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
    if (flushing || !R.userId || navigator.onLine === false) return Promise.resolve();
    flushing = true;
    var numbers = [];
    return idb.all().then(function (items) {
      var pending = items.filter(function (i) { return i.user === R.userId && i.status === "queued"; });
      pending.sort(function (a, b) { return a.createdAt - b.createdAt; });
      // One after another: a flaky network gets one request at a time.
      return pending.reduce(function (chain, item) {
        return chain.then(function () { return sendQueued(item); }).then(function (done) {
          if (done && done.status === "sent") numbers.push(done.number);
        });
      }, Promise.resolve());
    }).catch(function () {}).then(function () {
      flushing = false;
      if (numbers.length) R.showStatus(t("sent") + "：" + t("caseNumber") + " " + numbers.join("、"));
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
        var waiting = items.some(function (i) { return i.user === R.userId && i.status === "queued"; });
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


  function renderQueue() {
    var section = $("report-queue");
    var list = $("report-queue-list");
    if (!section || !list) return Promise.resolve();
    return idb.all().then(function (items) {
      var now = Date.now();
      var mine = items.filter(function (i) { return i.user === R.userId; });
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
        if (status && status.dataset.queue === "1") { R.showStatus(""); status.dataset.queue = ""; }
      }
    }).catch(function () { section.hidden = true; });
  }

  function queueRow(item) {
    var li = R.el("li");
    li.dataset.key = item.key;
    li.dataset.status = item.status;
    li.appendChild(R.el("span", "q-title", item.fields.title || "—"));
    var label = item.status === "sent" ? t("sent") : item.status === "failed" ? t("failed") : t("waiting");
    li.appendChild(R.el("span", "q-state " + item.status, label));
    var meta = R.el("span", "q-meta", t("savedAt") + " " + formatTime(item.createdAt));
    if (item.status === "sent" && item.number) {
      meta.appendChild(document.createTextNode(" · " + t("caseNumber") + " "));
      var link = R.el("a", "q-number", item.number);
      link.href = item.url;
      meta.appendChild(link);
    } else if (item.message) {
      meta.appendChild(document.createTextNode(" · " + item.message));
    }
    li.appendChild(meta);
    var actions = R.el("span", "q-actions");
    if (item.status === "queued") actions.appendChild(actionButton(t("retry"), "retry", item.key));
    if (item.status === "failed" && R.form) actions.appendChild(actionButton(t("edit"), "edit", item.key));
    if (item.status !== "queued" || item.message) actions.appendChild(actionButton(t("remove"), "remove", item.key));
    if (actions.childNodes.length) li.appendChild(actions);
    return li;
  }

  function actionButton(text, action, key) {
    var b = R.el("button", "link", text);
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
        R.restoreFromQueue(item);
        return idb.remove(key); // the form holds it now; the draft keeps the text
      }).then(function () { R.saveDraft(); renderQueue(); R.form.scrollIntoView(); });
    }
  }

  R.idb = idb;
  R.rememberSession = rememberSession;
  R.send = send;
  R.queueItem = queueItem;
  R.flushQueue = flushQueue;
  R.renderQueue = renderQueue;
  R.onQueueClick = onQueueClick;
  R.scheduleRetry = scheduleRetry;
})(window.gongzhiReport = window.gongzhiReport || {});
