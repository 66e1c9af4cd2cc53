/* The field app's outbox: every action (with its photos, as Blobs) is stored in IndexedDB first and sent in
   order when the network allows. Each carries an idempotency key (applied once, however often it is resent)
   and the case version it was decided on (the server refuses it if someone else changed the case meanwhile).
   Refused actions move to "needs attention" instead of vanishing. Also a small key/value cache (the task list)
   so that the app opens offline. Exposes `window.Outbox`. */
(function () {
  "use strict";
  const DB_NAME = "urbanops-field", ACTIONS = "outbox", CACHE = "cache";
  let dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = () => {
          req.result.createObjectStore(ACTIONS, { keyPath: "seq", autoIncrement: true });
          req.result.createObjectStore(CACHE);
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }

  async function tx(store, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const result = work(t.objectStore(store));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }

  /** A key nobody else will use: the server applies an action once per (person, key). */
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  /** Store an action {url, fields, files: {name: [Blob]}, label, caseId}; it gets a key, a number and "pending". */
  const add = (action) => tx(ACTIONS, "readwrite", (s) =>
    s.add({ state: "pending", createdAt: new Date().toISOString(), owner, ...action,
      fields: { action_key: newKey(), ...action.fields } }));
  // A phone may be shared between shifts: each person sees and sends only their own actions.
  let owner = null;
  const all = () => tx(ACTIONS, "readonly", (s) => s.getAll())
    .then((actions) => actions.filter((a) => owner === null || a.owner === owner));
  const put = (action) => tx(ACTIONS, "readwrite", (s) => s.put(action));
  const remove = (seq) => tx(ACTIONS, "readwrite", (s) => s.delete(seq));

  /** POST one action as multipart (progress reported for uploads); resolves {status, body}, rejects offline. */
  function send(action, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      Object.entries(action.fields || {}).forEach(([k, v]) => { if (v !== undefined && v !== null) form.append(k, v); });
      Object.entries(action.files || {}).forEach(([k, blobs]) =>
        blobs.forEach((b, i) => form.append(k, b, `${k}-${i}.jpg`)));
      const xhr = new XMLHttpRequest();
      xhr.open("POST", action.url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", (document.querySelector('meta[name="csrf-token"]') || {}).content || "");
      xhr.timeout = 120000;
      if (onProgress) xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* an HTML error page: no details */ }
        if (xhr.status === 0) reject(new Error("offline")); else resolve({ status: xhr.status, body });
      };
      xhr.onerror = xhr.ontimeout = () => reject(new Error("offline"));
      xhr.send(form);
    });
  }

  let flushing = null;
  /** Send what is pending, oldest first; stops at the first network failure (the rest keeps its order).
      `hooks.sent(action, body)`, `hooks.refused(action)` and `hooks.progress(action, share)` report back. */
  function flush(hooks = {}) {
    // A flush already running read the queue before this call's action was added: run again after it.
    if (flushing) return flushing.then((ok) => (ok ? flush(hooks) : false));
    flushing = (async () => {
      try {
        for (const action of await all()) {
          if (action.state !== "pending") continue;
          let result;
          try {
            result = await send(action, (p) => hooks.progress && hooks.progress(action, p));
          } catch (_) {
            return false;  // offline: try again later, in the same order
          }
          if (result.status >= 200 && result.status < 300) {
            await remove(action.seq);
            if (hooks.sent) hooks.sent(action, result.body);
          } else if (result.status === 429 || result.status >= 500) {
            return false;  // the server is busy or down: later
          } else if (result.status === 401 || (result.body.error || {}).code === "csrf_expired") {
            return false;  // signed out, or a page from before the last sign-in: kept for the next sign-in
          } else {  // refused (stale, illegal, not allowed, bad input): a person must look at it
            action.state = "attention";
            action.error = result.body.error ? result.body.error.message : String(result.status);
            action.files = {};  // the photos of a refused action are not kept forever
            await put(action);
            if (hooks.refused) hooks.refused(action);
          }
        }
        return true;
      } finally {
        flushing = null;
      }
    })();
    return flushing;
  }

  const cacheGet = (key) => tx(CACHE, "readonly", (s) => s.get(key));
  const cacheSet = (key, value) => tx(CACHE, "readwrite", (s) => s.put(value, key));

  /** Whose actions this page sees and sends (the signed-in person's id). */
  const setOwner = (id) => { owner = id; };

  window.Outbox = { add, all, remove, put, flush, cacheGet, cacheSet, newKey, setOwner };
})();
