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
  const clockFmt = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  /** The local time of day (HH:MM) of an ISO instant: "until 15:00". */
  const clock = (iso) => (iso ? clockFmt.format(new Date(iso)) : "");
  const rel = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  /** How far a time is from now, in the page's language: "in 2 hours", "35 minutes ago", "3 days ago". */
  function relative(iso) {
    const min = Math.round((new Date(iso) - Date.now()) / 60000);
    const [n, unit] = Math.abs(min) >= 2880 ? [Math.round(min / 1440), "day"]
      : Math.abs(min) >= 120 ? [Math.round(min / 60), "hour"] : [min, "minute"];
    return rel.format(n, unit);
  }
  /** Today's date in the district's zone, as YYYY-MM-DD (the API reads dates without an offset as local). */
  const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: tz }).format(new Date());
  /** A calendar date (YYYY-MM-DD) `n` days later (or earlier): date inputs and the API's from/to. */
  const addDays = (d, n) => { const x = new Date(`${d}T00:00:00Z`); x.setUTCDate(x.getUTCDate() + n); return x.toISOString().slice(0, 10); };

  /** Category suggestions from a description as a person types (the text model): `url` is asked after a pause,
      only the newest answer is drawn — up to three chips in `box`'s `.chips` (hidden when there are none) — and a
      tap calls `pick(code)` and marks that chip. `extra()` adds fields to each request (the photo's suggestion).
      Offline or failing, nothing shows: it is only a help. */
  function suggestFromText(textarea, box, url, pick, extra = () => ({})) {
    let asked = 0, timer = null;
    const chips = box.querySelector(".chips");
    textarea.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++asked;
        let data;
        try { data = await postJSON(url, { text: textarea.value, ...extra() }); } catch (e) { return; }
        if (mine !== asked) return;  // a late answer to older words
        chips.innerHTML = data.top.map((g) => `<button type="button" class="chip" data-code="${esc(g.code)}"
          aria-pressed="false">${esc(g.name)} ${Math.round(g.confidence * 100)}%</button>`).join(" ");
        box.hidden = !data.top.length;
      }, 350);
    });
    box.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-code]");
      if (!b) return;
      box.querySelectorAll("button[data-code]").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
      pick(b.dataset.code);
    });
  }

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

  /** A KPI as people read it: rates in %, minutes whole, satisfaction with two decimals, "–" for none. */
  function kpiText(key, v) {
    if (v == null) return "–";
    if (/_rate$|^dispatch_accuracy$/.test(key)) return `${(v * 100).toFixed(1)}%`;
    if (/_min$/.test(key)) return String(Math.round(v));
    if (/_h$/.test(key)) return v.toFixed(1);
    return String(v);
  }

  // --- Base map --------------------------------------------------------------------------------------------
  // Tiles, attribution and the tiles' coordinate system are server settings (MAP_TILE_*). Amap/Gaode and
  // Tencent tiles are drawn in GCJ-02, China's legally required offset of WGS-84 (up to ~500 m): every stored
  // position (WGS-84) is shifted into it for display and every position picked on the map is shifted back.
  // The transform is the published GCJ-02 formula (as in eviltransform, MIT); a library for 30 lines of
  // arithmetic would be one more CDN dependency for every page.
  const basemapEl = document.getElementById("basemap");
  const basemap = basemapEl ? JSON.parse(basemapEl.textContent) : { crs: "wgs84" };
  const A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  const outOfChina = (lat, lon) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  function tLat(x, y) {
    return -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
      + (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3
      + (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3
      + (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
  }
  function tLon(x, y) {
    return 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
      + (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3
      + (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3
      + (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
  }
  /** WGS-84 → GCJ-02, as [lat, lon]. */
  function wgsToGcj(lat, lon) {
    if (outOfChina(lat, lon)) return [lat, lon];
    const rad = lat / 180 * PI, s = Math.sin(rad), m = 1 - EE * s * s, sm = Math.sqrt(m);
    return [lat + tLat(lon - 105, lat - 35) * 180 / ((A * (1 - EE)) / (m * sm) * PI),
      lon + tLon(lon - 105, lat - 35) * 180 / (A / sm * Math.cos(rad) * PI)];
  }
  /** GCJ-02 → WGS-84 by fixed-point iteration (well under a centimetre after a few steps). */
  function gcjToWgs(lat, lon) {
    let wLat = lat, wLon = lon;
    for (let i = 0; i < 6; i += 1) {
      const [gLat, gLon] = wgsToGcj(wLat, wLon);
      wLat -= gLat - lat; wLon -= gLon - lon;
    }
    return [wLat, wLon];
  }
  const gcj = basemap.crs === "gcj02";
  /** A stored position (lon, lat) as the Leaflet LatLng to draw on these tiles. */
  const toMap = (lon, lat) => L.latLng(gcj ? wgsToGcj(lat, lon) : [lat, lon]);
  /** A position picked on the map, back as stored WGS-84 {lon, lat}. */
  const fromMap = (ll) => { const [lat, lon] = gcj ? gcjToWgs(ll.lat, ll.lng) : [ll.lat, ll.lng]; return { lon, lat }; };
  /** The map's visible area as a WGS-84 bbox string for the API (minLon,minLat,maxLon,maxLat). */
  function bboxOf(map) {
    const b = map.getBounds(), sw = fromMap(b.getSouthWest()), ne = fromMap(b.getNorthEast());
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    return [clamp(sw.lon, -180, 180), clamp(sw.lat, -90, 90), clamp(ne.lon, -180, 180), clamp(ne.lat, -90, 90)]
      .map((v) => v.toFixed(6)).join(",");
  }
  /** A Leaflet map on `el` with the configured tiles; GeoJSON layers take `geoJSONOptions` for the shift. */
  function baseMap(el, options) {
    const map = L.map(el, { preferCanvas: true, ...options });
    L.tileLayer(basemap.url, { maxZoom: basemap.max_zoom || 19, subdomains: basemap.subdomains || "abc",
      attribution: UO.esc(basemap.attribution || "") }).addTo(map);
    return map;
  }
  const geoJSONOptions = { coordsToLatLng: (c) => toMap(c[0], c[1]) };

  // Case colours by status (the legend lists them); overdue wins.
  const statusColors = { reported: "#8e44ad", verified: "#9b59b6", filed: "#e67e22", dispatched: "#f1c40f",
    accepted: "#3498db", handling: "#2980b9", resolved: "#16a085", closed: "#27ae60", suspended: "#7f8c8d" };
  const OVERDUE_COLOR = "#e74c3c";
  const short = (n) => (n >= 10000 ? `${Math.round(n / 1000)}k` : String(n));
  /** Draw an answer of GET /api/v1/cases/map into `layer`: a dot per case, or a counted circle per cell.
      `onCase(id)` and `onCell(feature)` make them clickable; `cellTitle(props)` is a cell's tooltip. */
  function drawCases(layer, fc, { onCase, onCell, cellTitle } = {}) {
    layer.clearLayers();
    fc.features.forEach((f) => {
      const q = f.properties, at = toMap(...f.geometry.coordinates);
      if (fc.mode === "points") {
        const m = L.circleMarker(at, { radius: 6, weight: 1, color: "#222", fillOpacity: 0.9,
          fillColor: q.overdue ? OVERDUE_COLOR : (statusColors[q.status] || "#999") })
          .bindTooltip(`${esc(q.number)} · ${esc(vocabulary.status[q.status] || q.status)}`).addTo(layer);
        if (onCase) m.on("click", () => onCase(f.id));
        return;
      }
      const size = Math.round(26 + 9 * Math.log10(q.count));
      const m = L.marker(at, { icon: L.divIcon({ className: `cell${q.overdue ? " late" : ""}`, iconSize: [size, size],
        html: `<span>${short(q.count)}</span>` }), title: cellTitle ? cellTitle(q) : String(q.count) }).addTo(layer);
      if (onCell) m.on("click", () => onCell(f));
    });
  }

  window.UO = { esc, when, clock, relative, suggestFromText, today, addDays, getJSON, postJSON, live, vocabulary, tz, kpiText, basemap, baseMap, toMap, fromMap,
    bboxOf, geoJSONOptions, wgsToGcj, gcjToWgs, statusColors, OVERDUE_COLOR, drawCases };
})();
