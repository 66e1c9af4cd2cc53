/* Supervisor console: grids and cases from /api/v1 on a Leaflet map, with a list and a case panel, kept
   current by the live stream; notifications of the signed-in person. Helpers come from common.js (UO). */
(function () {
  "use strict";
  const { esc, when, today, getJSON, postJSON, live, vocabulary } = UO;
  const staff = !!document.getElementById("kpis");
  const mapEl = document.getElementById("map");
  const t = JSON.parse(mapEl.dataset.i18n);
  const map = L.map(mapEl, { preferCanvas: true });
  L.tileLayer(mapEl.dataset.tiles, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
  const gridLayer = L.geoJSON(null, {
    style: { color: "#0b4f8a", weight: 1, fillOpacity: 0.05 },
    onEachFeature: (f, layer) => layer.bindTooltip(`${t.grid} ${f.properties.code}<br>${f.properties.name}`),
  }).addTo(map);
  const colors = { reported: "#8e44ad", verified: "#9b59b6", filed: "#e67e22", dispatched: "#f1c40f",
    accepted: "#3498db", handling: "#2980b9", resolved: "#16a085", closed: "#27ae60", suspended: "#7f8c8d" };
  const markers = new Map();  // case id → its marker, to highlight the case in the panel
  const caseLayer = L.geoJSON(null, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, weight: 1, color: "#222",
      fillColor: f.properties.overdue ? "#e74c3c" : (colors[f.properties.status] || "#999"), fillOpacity: 0.9 }),
    onEachFeature: (f, layer) => { markers.set(f.id, layer); layer.on("click", () => showCase(f.id)); },
  }).addTo(map);
  function highlight(id) {
    markers.forEach((m, key) => m.setStyle(key === id ? { radius: 10, weight: 3, color: "#0b4f8a" }
      : { radius: 6, weight: 1, color: "#222" }));
    const m = markers.get(id);
    if (m) m.bringToFront();
  }
  document.getElementById("legend").innerHTML = Object.entries(colors).map(([s, c]) =>
    `<li><i style="background:${c}"></i>${esc(vocabulary.status[s])}</li>`).join("")
    + `<li><i style="background:#e74c3c"></i>${esc(t.overdue)}</li>`;

  // Filters live in the address: a view can be bookmarked and shared.
  const filters = document.getElementById("filters");
  const FILTERS = ["status", "q", "class", "source", "grid", "sort", "overdue"];
  function filtersFromAddress() {
    const params = new URLSearchParams(location.search);
    FILTERS.forEach((name) => {
      const el = filters.elements[name];
      if (!params.has(name)) return;
      if (el.type === "checkbox") el.checked = params.get(name) === "1"; else el.value = params.get(name);
    });
  }
  // The lists are filled first, then the form is set from the address, then the cases load (in that order:
  // a load before would write the address back without the filters that had no option yet).
  const formReady = getJSON("/api/v1/categories").then((cats) => {
    const classes = new Map(cats.map((c) => [c.class.code, c.class.name]));
    filters.elements.class.insertAdjacentHTML("beforeend", [...classes].map(([code, name]) =>
      `<option value="${esc(code)}">${esc(name)}</option>`).join(""));
    filters.elements.source.insertAdjacentHTML("beforeend", Object.entries(vocabulary.source).map(([code, name]) =>
      `<option value="${esc(code)}">${esc(name)}</option>`).join(""));
    filtersFromAddress();
  }, () => filtersFromAddress());

  async function loadGrids() {
    const fc = await getJSON("/api/v1/grids");
    gridLayer.addData(fc);
    if (fc.features.length) map.fitBounds(gridLayer.getBounds());
    else map.setView([30.27, 120.15], 13);
  }

  async function loadCases() {
    const form = new FormData(filters);
    const chosen = new URLSearchParams();
    FILTERS.forEach((name) => { const v = form.get(name); if (v) chosen.set(name, v); });
    history.replaceState(null, "", chosen.toString() ? `?${chosen}` : location.pathname);
    const params = new URLSearchParams({ page_size: "500", ...Object.fromEntries(chosen) });
    // A case number finds the case whatever its status; otherwise the open ones unless a status is chosen.
    if (!form.get("status") && !form.get("q")) params.set("status", vocabulary.open.join(","));
    const fc = await getJSON("/api/v1/cases?" + params);
    markers.clear();
    caseLayer.clearLayers().addData(fc);
    if (shown) highlight(shown);
    document.getElementById("count").textContent = fc.features.length ? `${fc.total} ${t.cases}` : t.none;
    document.getElementById("case-list").innerHTML = fc.features.map((f) => {
      const p = f.properties;
      // 核实 in one click from the list: reports waiting for verification carry their two answers.
      const verify = staff && p.status === "reported" ? `<span class="quick">
        <button type="button" data-verify="true">${esc(t.valid)}</button>
        <button type="button" data-verify="false" class="alt">${esc(t.invalid)}</button></span>` : "";
      return `<li data-id="${f.id}"><b>${esc(p.number)}</b> <span class="badge">${esc(p.status_label)}</span>
        ${p.overdue ? `<span class="badge overdue">${esc(t.overdue)}</span>` : ""}
        ${p.source === "camera" ? `<span class="badge">${esc(vocabulary.source.camera)}</span>` : ""}${verify}<br>
        ${esc(p.category_name)} · ${esc(p.grid || "")} ${p.due_at ? `· ${esc(t.due)} ${esc(when(p.due_at))}` : ""}</li>`;
    }).join("");
  }

  let shown = null;  // the case in the panel, refreshed when the stream says it changed
  async function showCase(id, { pan = true } = {}) {
    const c = await getJSON(`/api/v1/cases/${id}`);
    const p = c.properties;
    shown = c.id;
    highlight(c.id);
    const el = document.getElementById("case-detail");
    el.hidden = false;
    el.innerHTML = `<button type="button" class="close" aria-label="×">×</button><h2>${esc(p.number)} · ${esc(p.category_name)}</h2>
      <p><span class="badge">${esc(p.status_label)}</span> ${esc(p.address)}</p><p>${esc(p.description)}</p>
      ${p.waiting ? `<p class="muted">⏳ ${esc(p.waiting)}</p>` : ""}
      ${p.media.length ? `<div class="shots">${p.media.map((m) =>
        `<a href="${esc(m.url)}" target="_blank" rel="noopener"><img src="${esc(m.thumb)}" alt="${esc(m.kind)}" loading="lazy"></a>`).join("")}</div>` : ""}
      <p>${[p.assignee ? `${esc(t.assignee)}: <b>${esc(p.assignee.name)}</b>` : "",
        p.due_at ? `${esc(t.due)} <time class="${p.overdue ? "overdue" : ""}">${esc(when(p.due_at))}</time>` : ""]
        .filter(Boolean).join(" · ")}</p>
      <section class="case-acts"></section>
      <h3>${esc(t.timeline)}</h3><ol>${p.timeline.map((e) =>
        `<li>${esc(when(e.at))} — ${esc(e.action_label)} (${esc(e.actor ? e.actor.name : e.actor_role)}) ${esc(e.note)}</li>`).join("")}</ol>`;
    if (staff) CaseActions.render(el.querySelector(".case-acts"), c, t, () => { showCase(c.id, { pan: false }); loadCases(); });
    if (!pan) return;
    el.parentNode.scrollTop = 0;  // the panel, not the page
    map.panTo([c.geometry.coordinates[1], c.geometry.coordinates[0]]);
  }

  const workerLayer = L.layerGroup().addTo(map);
  async function loadWorkers() {
    const fc = await getJSON("/api/v1/workers");
    workerLayer.clearLayers();
    L.geoJSON(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5, weight: 2, color: "#fff",
        fillColor: f.properties.on_duty ? "#0b4f8a" : "#95a5a6", fillOpacity: 1 }),
      onEachFeature: (f, layer) => layer.bindTooltip(`${esc(f.properties.name)} · ${f.properties.on_duty
        ? `${f.properties.open_tasks}/${f.properties.capacity} ${esc(t.open_tasks)}` : esc(t.off_duty)}`),
    }).eachLayer((l) => workerLayer.addLayer(l));
  }

  const cameraLayer = L.layerGroup().addTo(map);
  async function loadCameras() {
    const fc = await getJSON("/api/v1/cameras");
    cameraLayer.clearLayers();
    fc.features.forEach((f) => {
      const p = f.properties, h = p.health;
      const up = h && !h.stopped && Date.now() / 1000 - h.at < 30;
      const [lon, lat] = f.geometry.coordinates;
      const svg = '<svg viewBox="0 0 24 24" width="16" height="16"><path fill="currentColor" d="M4 7h3l2-2h6l2 2h3v12H4z"/><circle cx="12" cy="13" r="3.5" fill="#fff"/></svg>';
      L.marker([lat, lon], { icon: L.divIcon({ className: "cam " + (up ? "up" : "down"), html: svg, iconSize: [22, 22] }) })
        .bindTooltip(`${esc(t.camera)} ${esc(p.code)} · ${esc(p.name)}<br>${up
          ? `${h.fps} fps · ${esc(t.errors)} ${h.errors} · ${h.findings}` : esc(t.offline)}`)
        .addTo(cameraLayer);
    });
  }

  async function loadKpis() {
    const box = document.getElementById("kpis");
    const k = (await getJSON("/api/v1/kpis?from=" + today())).summary;  // from midnight in the district
    box.querySelectorAll("dd[data-k]").forEach((dd) => {
      const v = k[dd.dataset.k];
      dd.textContent = v == null ? "–" : ("pct" in dd.dataset ? `${(v * 100).toFixed(1)}%` : v);
    });
  }

  // No inline handlers: the Content-Security-Policy allows none.
  document.getElementById("case-detail").addEventListener("click", (e) => {
    if (e.target.closest("button.close")) { e.currentTarget.hidden = true; shown = null; }
  });
  document.getElementById("filters").addEventListener("change", loadCases);
  document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); loadCases(); });
  document.getElementById("case-list").addEventListener("click", async (e) => {
    const li = e.target.closest("li[data-id]");
    if (!li) return;
    const answer = e.target.dataset.verify;
    if (answer === undefined) { showCase(li.dataset.id); return; }
    const body = { valid: answer === "true" };
    if (!body.valid) {
      const reason = window.prompt(t.reason);  // invalid needs a reason (kept with the case; camera frames feed retraining)
      if (!reason || !reason.trim()) return;
      body.note = reason.trim();
    }
    try { await postJSON(`/api/v1/cases/${li.dataset.id}/verify`, body); loadCases(); }
    catch (err) { window.alert(err.message); }
  });
  const queue = document.getElementById("verify-queue");
  if (queue) queue.addEventListener("click", () => {
    filters.elements.status.value = "reported"; filters.elements.sort.value = "newest";
    filters.elements.overdue.checked = false; filters.elements.q.value = "";
    loadCases();
  });
  // Notifications: mine, unread first; opening one shows its case and marks it read.
  const notesEl = document.getElementById("notes");
  async function loadNotes() {
    const feed = await getJSON("/api/v1/notifications?page_size=8");
    notesEl.querySelector("[data-unread]").textContent = feed.unread;
    notesEl.querySelector("[data-unread]").hidden = !feed.unread;
    notesEl.querySelector("button.all").hidden = !feed.unread;
    notesEl.querySelector("ol").innerHTML = feed.items.length ? feed.items.map((n) =>
      `<li data-note="${n.id}" data-case="${n.case ? n.case.id : ""}" class="${n.read_at ? "read" : "unread"}">
        <b>${esc(n.kind_label)}</b> ${esc(n.case ? n.case.number : "")}
        <time datetime="${esc(n.created_at)}">${esc(when(n.created_at))}</time></li>`).join("")
      : `<li class="muted">${esc(t.no_notes)}</li>`;
  }
  notesEl.addEventListener("click", async (e) => {
    if (e.target.closest("button.all")) { await postJSON("/api/v1/notifications/read-all"); loadNotes(); return; }
    const li = e.target.closest("li[data-note]");
    if (!li) return;
    if (li.classList.contains("unread")) postJSON(`/api/v1/notifications/${li.dataset.note}/read`).then(loadNotes);
    if (li.dataset.case) showCase(li.dataset.case);
  });

  // Live: a burst of changes reloads the list once; the stream replaces the old 15-second polling.
  let pending = null;
  const soon = (fn) => { clearTimeout(pending); pending = setTimeout(fn, 400); };
  const refresh = () => { loadCases(); if (staff) loadKpis(); };
  const liveEl = document.getElementById("live");
  const source = live({
    case: (e) => { soon(refresh); if (shown === e.case_id) showCase(e.case_id, { pan: false }); },
    notification: () => loadNotes(),
    resync: () => { refresh(); loadNotes(); },
  });
  if (source) {
    source.onopen = () => { liveEl.className = "live on"; liveEl.textContent = t.live; };
    source.onerror = () => { liveEl.className = "live off"; liveEl.textContent = t.reconnecting; };
  }

  Promise.all([loadGrids(), formReady]).then(loadCases);
  loadNotes();
  setInterval(loadCases, source ? 120000 : 15000);  // a safety net only while the stream is up
  if (staff) {
    loadWorkers(); loadKpis(); loadCameras();
    setInterval(loadWorkers, 10000);
    setInterval(loadCameras, 15000);
    setInterval(loadKpis, 60000);
  }
})();
