/* The field app's service worker (scope /m/): the app shell from the cache, the task list and case details
   from the network with the last copy kept for offline, photos cached once seen. Writes never pass through a
   cache: the outbox (IndexedDB) keeps them until they are sent. */
const VERSION = "field-dev";  // replaced when served: a digest of the app's files (app/field/__init__.py)
const FILES = [];  // replaced when served: the app's static files (SHELL_FILES in app/field/__init__.py)
const SHELL = ["/m/", "/m/manifest.webmanifest", "/m/icon-192.png", ...FILES];
const READ_LATEST = [/^\/api\/v1\/me\/tasks/, /^\/api\/v1\/me$/, /^\/api\/v1\/categories/, /^\/api\/v1\/cases\/\d+$/];

self.addEventListener("install", (event) => {
  // force-cache: the page has just fetched these files; taking them from the HTTP cache spares a second download.
  event.waitUntil(caches.open(VERSION)
    .then((c) => c.addAll(SHELL.map((url) => new Request(url, { cache: "force-cache" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function networkFirst(request, fallbackUrl) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(fallbackUrl || request, response.clone());
    return response;
  } catch (err) {
    const saved = await cache.match(fallbackUrl || request);
    if (saved) return saved;
    throw err;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(VERSION);
  const saved = await cache.match(request, { ignoreSearch: false });
  if (saved) return saved;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/api/v1/events/stream") return;
  if (request.mode === "navigate" && url.pathname.startsWith("/m/")) {
    event.respondWith(networkFirst(request, "/m/"));
  } else if (READ_LATEST.some((re) => re.test(url.pathname))) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.startsWith("/api/v1/media/")) {
    event.respondWith(cacheFirst(request));  // a stored photo never changes
  } else if (url.pathname.startsWith("/static/") || /^\/m\/(manifest|icon)/.test(url.pathname)) {
    event.respondWith(cacheFirst(request));  // a new release is a new worker with a new cache
  }
});
