// Service worker of the report page, served by /report/sw.js (scope /report/) with its
// configuration in front (self.GONGZHI_SW: version, assets to keep, URLs).
// - keeps the page shell and the static files for offline use: cache-first for /static/,
//   network-first for /report/, an offline page for anything else under /report/;
// - sends reports queued in IndexedDB by report.js when Background Sync says the network is back.
//   Each queued report keeps its idempotency key, so a retry never makes a second case.
/* eslint-env serviceworker */
"use strict";

const CONFIG = self.GONGZHI_SW || { version: "dev", assets: [], shell: "/report/", offline: "/report/offline/",
                                    post: "/report/" };
const PREFIX = "gongzhi-report-";
const CACHE = PREFIX + CONFIG.version;
const DB_NAME = "gongzhi-report";
const DB_VERSION = 1;
const SYNC_TAG = "gongzhi-report-queue";

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One by one: a file that fails (e.g. the page while logged out) must not stop the others.
    await Promise.all([CONFIG.shell, CONFIG.offline, ...CONFIG.assets].map((url) =>
      cache.add(new Request(url, { credentials: "same-origin" })).catch(() => null)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k.startsWith(PREFIX) && k !== CACHE).map((k) => caches.delete(k)));
    await self.clients.claim();
  })());
});

function cacheable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (cacheable(response)) {
    const copy = response.clone();
    caches.open(CACHE).then((c) => c.put(request, copy)).catch(() => null);
  }
  return response;
}

async function networkFirst(request, keep) {
  try {
    const response = await fetch(request);
    if (keep && cacheable(response)) {
      const copy = response.clone();
      caches.open(CACHE).then((c) => c.put(request, copy)).catch(() => null);
    }
    return response;
  } catch (err) {
    const cached = await caches.match(request, { ignoreVary: true });
    if (cached) return cached;
    const url = new URL(request.url);
    if (url.pathname === CONFIG.shell) {
      const shell = await caches.match(CONFIG.shell, { ignoreVary: true, ignoreSearch: true });
      if (shell) return shell;
    }
    if (request.mode === "navigate") {
      const offline = await caches.match(CONFIG.offline, { ignoreVary: true });
      if (offline) return offline;
    }
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // submissions go to the network (report.js queues them)
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (url.pathname.startsWith(CONFIG.shell) && !url.pathname.endsWith("/sw.js")) {
    // Keep the page itself and the category answers; other pages (thank-you pages) only fall back.
    const keep = url.pathname === CONFIG.shell || url.pathname === CONFIG.offline ||
      url.pathname.startsWith(CONFIG.shell + "categories/");
    event.respondWith(networkFirst(request, keep));
  }
});

// --- the queue (the same IndexedDB stores and rules as report.js) ---

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "key" });
      if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "id" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(name, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const req = work(tx.objectStore(name));
    let result;
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => { db.close(); resolve(result); };
    tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
  });
}

async function notifyPages() {
  const pages = await self.clients.matchAll({ type: "window" });
  pages.forEach((page) => page.postMessage({ type: "queue-changed" }));
}

let flushing = null;

async function flush() {
  const session = await withStore("meta", "readonly", (s) => s.get("session"));
  if (!session || !session.user) return;
  const items = await withStore("queue", "readonly", (s) => s.getAll());
  const pending = items.filter((i) => i.user === session.user && i.status === "queued")
    .sort((a, b) => a.createdAt - b.createdAt);
  let networkDown = false;
  for (const item of pending) {
    const body = new FormData();
    Object.keys(item.fields).forEach((name) => body.append(name, item.fields[name]));
    (item.photos || []).forEach((p) => body.append("photos", p.blob, p.name));
    let response;
    try {
      response = await fetch(session.post || CONFIG.post, {
        method: "POST", body, credentials: "same-origin", redirect: "manual",
        headers: { Accept: "application/json", "X-CSRFToken": session.csrf || "" },
      });
    } catch (err) {
      networkDown = true; // still offline: let the browser fire the sync again later
      break;
    }
    let payload = null;
    if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
      payload = await response.json().catch(() => null);
    }
    const current = await withStore("queue", "readonly", (s) => s.get(item.key));
    if (!current || current.status === "sent") continue;
    current.attempts = (current.attempts || 0) + 1;
    current.lastTriedAt = Date.now();
    if ((response.status === 200 || response.status === 201) && payload && payload.number) {
      Object.assign(current, { status: "sent", number: payload.number, url: payload.url, photos: [],
                               sentAt: Date.now(), message: "" });
    } else if (response.status === 400 || response.status === 413) {
      const fields = payload && payload.error ? payload.error.fields || {} : {};
      current.status = "failed";
      current.errors = fields;
      current.message = Object.values(fields).flat().join(" ") ||
        (payload && payload.error ? payload.error.message : "");
    } else {
      // Logged out (401), a stale CSRF token (403) or a server error: the page retries when it
      // is next opened, with a fresh session.
      continue;
    }
    await withStore("queue", "readwrite", (s) => s.put(current));
  }
  await notifyPages();
  if (networkDown) throw new Error("offline");
}

function flushOnce() {
  if (!flushing) flushing = flush().finally(() => { flushing = null; });
  return flushing;
}

self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(flushOnce());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "flush") event.waitUntil(flushOnce().catch(() => null));
});
