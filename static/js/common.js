/* Helpers every page's script shares: escaping, JSON requests, local time in the district's zone, the
   server's vocabulary, and the live event stream. Loaded before the page's own module; exposes `window.UO`. */
(function () {
  "use strict";
  const root = document.documentElement;
  const tz = root.dataset.tz || "Asia/Shanghai";
  const locale = root.lang || "zh-CN";
  const vocabEl = document.getElementById("vocabulary");
  const vocabulary = vocabEl ? JSON.parse(vocabEl.textContent) : {};

  const esc = (s) => String(s ?? "").replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  // Times are shown in the district's zone (TIMEZONE from the server), never the browser's guess or UTC.
  const fmt = new Intl.DateTimeFormat(locale, { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const when = (iso) => (iso ? fmt.format(new Date(iso)) : "");
  /** Today's date in the district's zone, as YYYY-MM-DD (the API reads dates without an offset as local). */
  const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: tz }).format(new Date());

  async function request(url, options) {
    const r = await fetch(url, { credentials: "same-origin", ...options,
      headers: { Accept: "application/json", ...(options && options.headers) } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error ? body.error.message : r.statusText);
    return body;
  }
  const getJSON = (url) => request(url);
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const postJSON = (url, data) => request(url, { method: "POST", body: JSON.stringify(data || {}),
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() } });

  /** Open the live stream; handlers by event type ("case", "notification", "resync"). The browser reconnects
      by itself and sends Last-Event-ID, so nothing is missed while a phone is in a tunnel. */
  function live(handlers) {
    if (!window.EventSource) return null;
    const port = root.dataset.streamPort;
    const path = "/api/v1/events/stream";
    const url = port ? `${location.protocol}//${location.hostname}:${port}${path}` : path;
    const source = new EventSource(url, { withCredentials: !!port });
    Object.entries(handlers).forEach(([type, fn]) =>
      source.addEventListener(type, (e) => fn(type === "resync" ? {} : JSON.parse(e.data))));
    return source;
  }

  window.UO = { esc, when, today, getJSON, postJSON, live, vocabulary, tz };
})();
