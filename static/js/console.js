/* Supervisor console: the map asks only for its viewport (points when few, counts per cell when many), the list
   follows the map or the whole district, the case panel acts on a case (console-act.js), and the live stream
   keeps all of it current. Filters live in the address. Helpers come from common.js (UO). */
(function () {
  "use strict";
  const { esc, when, today, getJSON, postJSON, live, vocabulary, toMap, bboxOf, geoJSONOptions } = UO;
  const staff = !!document.getElementById("kpis");
  const mapEl = document.getElementById("map");
  const t = JSON.parse(mapEl.dataset.i18n);
  const map = UO.baseMap(mapEl);
  const gridLayer = L.geoJSON(null, {
    ...geoJSONOptions,
    style: { color: "#0b4f8a", weight: 1, fillOpacity: 0.05 },
    onEachFeature: (f, layer) => layer.bindTooltip(`${esc(t.grid)} ${esc(f.properties.code)}<br>${esc(f.properties.name)}`),
  }).addTo(map);
  const caseLayer = L.layerGroup().addTo(map);
  const selLayer = L.layerGroup().addTo(map);  // the ring around the case in the panel, whatever the map shows
  document.getElementById("legend").innerHTML = Object.entries(UO.statusColors).map(([s, c]) =>
    `<li><i style="background:${c}"></i>${esc(vocabulary.status[s])}</li>`).join("")
    + `<li><i style="background:${UO.OVERDUE_COLOR}"></i>${esc(t.overdue)}</li>`;

  // --- filters: in the address, so a view can be bookmarked and shared ------------------------------------
  const filters = document.getElementById("filters");
  const FILTERS = ["status", "q", "class", "category", "source", "grid", "assignee_id", "department_id", "from", "to",
    "sort", "overdue", "kpi", "worker_id"];
  const el = (name) => filters.elements[name];
  let categories = [];
  function fillCategories() {
    const cls = el("class").value, keep = el("category").value;
    el("category").innerHTML = `<option value="">${esc(el("category").options[0].text)}</option>` + categories
      .filter((c) => !cls || c.class.code === cls)
      .map((c) => `<option value="${esc(c.code)}">${esc(c.name)}</option>`).join("");
    el("category").value = keep;
    if (el("category").value !== keep) el("category").value = "";
  }
  function filtersFromAddress() {
    const params = new URLSearchParams(location.search);
    FILTERS.forEach((name) => {
      if (!params.has(name) || !el(name)) return;
      if (el(name).type === "checkbox") el(name).checked = params.get(name) === "1"; else el(name).value = params.get(name);
    });
    el("inview").checked = params.get("inview") !== "0";
    fillCategories();
    if (params.has("category")) el("category").value = params.get("category");
    showDrill();
  }
  const workerName = (id) => {
    const opt = el("assignee_id") && [...el("assignee_id").options].find((o) => o.value === id);
    return opt ? opt.text : `#${id}`;
  };
  function showDrill() {  // a drill-down from the dashboard: the KPI set and the worker are not form fields
    const box = filters.querySelector(".drill");
    const parts = [el("kpi").value && (vocabulary.kpi[el("kpi").value] || el("kpi").value),
      el("worker_id").value && `${t.assignee}: ${workerName(el("worker_id").value)}`].filter(Boolean);
    box.hidden = !parts.length;
    box.querySelector("span").textContent = `${t.drill}: ${parts.join(" · ")}`;
  }
  /** What the address keeps. */
  function chosen() {
    const form = new FormData(filters), out = new URLSearchParams();
    FILTERS.forEach((name) => { const v = form.get(name); if (v) out.set(name, v); });
    if (!el("inview").checked) out.set("inview", "0");
    return out;
  }
  /** The API's parameters for the chosen filters (list, map and export share them). */
  function apiParams() {
    const c = chosen(), p = new URLSearchParams();
    c.forEach((v, k) => { if (!["inview", "status", "to"].includes(k)) p.set(k, v); });
    const status = c.get("status");
    // A case number or a drill-down finds cases whatever their status; otherwise the open ones by default.
    if (status && status !== "all") p.set("status", status);
    else if (!status && !c.get("q") && !c.get("kpi")) p.set("status", vocabulary.open.join(","));
    if (c.get("to")) p.set("to", UO.addDays(c.get("to"), 1));  // the day chosen is included
    return p;
  }
  const listFollowsMap = () => el("inview").checked && !el("q").value;

  const formReady = Promise.all([
    getJSON("/api/v1/categories").then((cats) => {
      categories = cats;
      const classes = new Map(cats.map((c) => [c.class.code, c.class.name]));
      el("class").insertAdjacentHTML("beforeend", [...classes].map(([code, name]) =>
        `<option value="${esc(code)}">${esc(name)}</option>`).join(""));
    }),
    staff ? getJSON("/api/v1/workers").then((fc) => el("assignee_id").insertAdjacentHTML("beforeend", fc.features
      .map((f) => `<option value="${f.id}">${esc(f.properties.name)}</option>`).join(""))) : null,
    staff ? getJSON("/api/v1/departments").then((ds) => el("department_id").insertAdjacentHTML("beforeend", ds
      .map((d) => `<option value="${d.id}">${esc(d.name)}</option>`).join(""))) : null,
  ].map((p) => Promise.resolve(p).catch(() => null))).then(() => {
    el("source").insertAdjacentHTML("beforeend", Object.entries(vocabulary.source).map(([code, name]) =>
      `<option value="${esc(code)}">${esc(name)}</option>`).join(""));
    filtersFromAddress();
  });

  async function loadGrids() {
    const fc = await getJSON("/api/v1/grids");
    gridLayer.addData(fc);
    if (fc.features.length) map.fitBounds(gridLayer.getBounds());
    else map.setView([30.27, 120.15], 13);
  }

  // --- the map: only the viewport, points or cells (GET /api/v1/cases/map) --------------------------------
  const countEl = document.getElementById("count");
  /** A failed load says so where the count is (the last answer stays on screen) instead of failing silently. */
  const showError = (err) => { countEl.textContent = t.failed.replace("{why}", err.message); countEl.className = "error"; };
  let mapSeq = 0;
  async function loadMap() {
    const seq = ++mapSeq;
    const p = apiParams();
    p.set("bbox", bboxOf(map)); p.set("zoom", map.getZoom());
    let fc;
    try { fc = await getJSON("/api/v1/cases/map?" + p); } catch (err) { showError(err); return; }
    if (seq !== mapSeq) return;  // the map moved again meanwhile: a newer answer is coming
    mapEl.dataset.mode = fc.mode;
    UO.drawCases(caseLayer, fc, {
      onCase: showCase,
      onCell: (f) => {
        const [x0, y0, x1, y1] = f.properties.bbox;
        map.fitBounds([toMap(x0, y0), toMap(x1, y1)],
          { maxZoom: Math.min(map.getZoom() + 3, map.getMaxZoom()), padding: [20, 20] });
      },
      cellTitle: (q) => `${q.count} ${t.cases}${q.overdue ? ` · ${q.overdue} ${t.overdue}` : ""} · ${t.zoom_in}`,
    });
    document.getElementById("in-view").textContent = t.in_view.replace("{n}", fc.total);
  }

  // --- the list: the viewport's cases (or the whole district), deadline first ------------------------------
  async function loadCases() {
    const c = chosen();
    history.replaceState(null, "", c.toString() ? `?${c}` : location.pathname);
    const p = apiParams();
    if (listFollowsMap()) p.set("bbox", bboxOf(map));
    if (staff) document.getElementById("export").href = "/api/v1/cases/export?" + p;
    p.set("page_size", "200");
    let fc;
    try { fc = await getJSON("/api/v1/cases?" + p); } catch (err) { showError(err); return; }
    countEl.className = "";
    countEl.textContent = fc.features.length ? `${fc.total} ${t.cases}` : t.none;
    document.getElementById("case-list").innerHTML = fc.features.map((f) => {
      const q = f.properties;
      // 核实 in one click from the list: reports waiting for verification carry their two answers.
      const verify = staff && q.status === "reported" ? `<span class="quick">
        <button type="button" data-verify="true">${esc(t.valid)}</button>
        <button type="button" data-verify="false" class="alt">${esc(t.invalid)}</button></span>` : "";
      return `<li data-id="${f.id}" class="${f.id === shown ? "sel" : ""}"><b>${esc(q.number)}</b> <span class="badge">${esc(q.status_label)}</span>
        ${q.overdue ? `<span class="badge overdue">${esc(t.overdue)}</span>` : ""}
        ${q.source === "camera" ? `<span class="badge">${esc(vocabulary.source.camera)}</span>` : ""}
        ${q.category_hint ? `<span class="badge hint" title="${esc(t.hint)} ${esc(q.category_hint.name)}">${esc(t.hint_badge)}: ${esc(q.category_hint.name)}?</span>` : ""}${verify}<br>
        ${esc(q.category_name)} · ${esc(q.grid || "")} ${q.due_at ? `· ${esc(t.due)} ${esc(when(q.due_at))}` : ""}</li>`;
    }).join("");
    if (!listFollowsMap() && el("q").value && fc.features.length === 1) showCase(fc.features[0].id);
  }

  // --- the case panel ------------------------------------------------------------------------------------
  const categoryName = (code) => (categories.find((c) => c.code === code) || {}).name || code;
  /** What an event changed, when its note does not say: 改类 from → to, a merge's target, a merged duplicate. */
  function detail(e) {
    const d = e.data || {};
    if (e.action === "recategorise" && d.to) return `${categoryName(d.from)} → ${categoryName(d.to)}`;
    if (e.action === "merge" && d.into) return `→ ${d.into}`;
    if (e.action === "add_evidence" && d.merged_case) return `← ${d.merged_case}`;
    return "";
  }
  let shown = null;  // the case in the panel, refreshed when the stream says it changed
  async function showCase(id, { pan = true } = {}) {
    const c = await getJSON(`/api/v1/cases/${id}`);
    const p = c.properties, where = toMap(...c.geometry.coordinates);
    shown = c.id;
    selLayer.clearLayers();
    L.circleMarker(where, { radius: 14, weight: 3, color: "#0b4f8a", fill: false, interactive: false }).addTo(selLayer);
    document.querySelectorAll("#case-list li").forEach((li) => li.classList.toggle("sel", +li.dataset.id === c.id));
    const box = document.getElementById("case-detail");
    box.hidden = false;
    box.innerHTML = `<button type="button" class="close" aria-label="×">×</button><h2>${esc(p.number)} · ${esc(p.category_name)}</h2>
      <p><span class="badge">${esc(p.status_label)}</span> ${esc(vocabulary.source[p.source] || "")} · ${esc(p.address)}</p><p>${esc(p.description)}</p>
      ${p.waiting ? `<p class="muted">⏳ ${esc(p.waiting)}</p>` : ""}
      ${p.media.length ? `<div class="shots">${p.media.map((m) =>
        `<a href="${esc(m.url)}" target="_blank" rel="noopener"><img src="${esc(m.thumb)}" alt="${esc(m.kind)}" loading="lazy"></a>`).join("")}</div>` : ""}
      <p>${[p.assignee ? `${esc(t.assignee)}: <b>${esc(p.assignee.name)}</b>` : "",
        p.due_at ? `${esc(t.due)} <time class="${p.overdue ? "overdue" : ""}" datetime="${esc(p.due_at)}">${esc(when(p.due_at))} (${esc(UO.relative(p.due_at))})</time>` : ""].filter(Boolean).join(" · ")}</p>
      <section class="case-insight"></section><section class="case-acts"></section>
      <h3>${esc(t.timeline)}</h3><ol>${p.timeline.map((e) =>
        `<li>${esc(when(e.at))} — ${esc(e.action_label)} (${esc(e.actor ? e.actor.name : e.actor_role)}) ${esc(detail(e))} ${esc(e.note)}</li>`).join("")}</ol>`;
    if (staff) {
      const again = () => { showCase(c.id, { pan: false }); refresh(); };
      CaseActions.render(box.querySelector(".case-acts"), c, t, again);
      CaseActions.insight(box.querySelector(".case-insight"), c, t, again);
    }
    if (!pan) return;
    const panel = box.parentNode;  // scroll the panel (not the page) so the case's top shows
    panel.scrollTop += box.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
    map.panTo(where);
  }

  // --- field workers and cameras -------------------------------------------------------------------------
  const workerLayer = L.layerGroup().addTo(map);
  async function loadWorkers() {
    const fc = await getJSON("/api/v1/workers");
    workerLayer.clearLayers();
    L.geoJSON(fc, {
      ...geoJSONOptions,
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5, weight: 2, color: "#fff",
        fillColor: f.properties.on_duty ? "#0b4f8a" : "#95a5a6", fillOpacity: 1 }),
      onEachFeature: (f, layer) => layer.bindTooltip(`${esc(f.properties.name)} · ${f.properties.on_duty
        ? `${f.properties.open_tasks}/${f.properties.capacity} ${esc(t.open_tasks)}` : esc(t.off_duty)}`),
    }).eachLayer((l) => workerLayer.addLayer(l));
  }

  const cameraLayer = L.layerGroup().addTo(map);
  const camIcon = '<svg viewBox="0 0 24 24" width="16" height="16"><path fill="currentColor" d="M4 7h3l2-2h6l2 2h3v12H4z"/><circle cx="12" cy="13" r="3.5" fill="#fff"/></svg>';
  async function cameraPopup(code) {
    const c = await getJSON(`/api/v1/cameras/${encodeURIComponent(code)}`);
    const h = c.health;
    const rows = c.findings_today.map((f) => `<tr><td>${esc(f.name)}</td><td>${f.found}</td><td>${f.confirmed}</td>
      <td>${f.rejected}</td><td>${f.waiting}</td></tr>`).join("");
    return `<div class="cam-pop"><h3>${esc(t.camera)} ${esc(c.code)} · ${esc(c.name)}</h3>
      <img class="snap" alt="${esc(t.snapshot)}" src="/api/v1/cameras/${encodeURIComponent(c.code)}/snapshot?t=${Date.now()}">
      <p class="muted snap-none" hidden>${esc(t.no_snapshot)}</p>
      <p>${h && !h.stopped ? `${h.fps} ${esc(t.fps)} · ${esc(t.errors)} ${h.errors}` : esc(t.offline)}${c.node
        ? ` · ${esc(t.node)} <b>${esc(c.node)}</b>` : ""}</p>
      <h4>${esc(t.findings)}</h4>${rows ? `<table><tr><th></th><th>${esc(t.found)}</th><th>${esc(t.confirmed)}</th>
        <th>${esc(t.rejected)}</th><th>${esc(t.waiting)}</th></tr>${rows}</table>` : `<p class="muted">${esc(t.none_yet)}</p>`}
      <h4>${esc(t.its_cases)}</h4>${c.open_cases.length ? `<ul>${c.open_cases.map((k) =>
        `<li><a href="#" data-case="${k.id}">${esc(k.number)}</a> ${esc(k.category_name)} · ${esc(vocabulary.status[k.status])}</li>`).join("")}</ul>`
        : `<p class="muted">${esc(t.none_yet)}</p>`}</div>`;
  }
  async function loadCameras() {
    const fc = await getJSON("/api/v1/cameras");
    cameraLayer.clearLayers();
    fc.features.forEach((f) => {
      const p = f.properties, h = p.health;
      const up = h && !h.stopped && Date.now() / 1000 - h.at < 30;
      L.marker(toMap(...f.geometry.coordinates), { icon: L.divIcon({ className: "cam " + (up ? "up" : "down"), html: camIcon, iconSize: [22, 22] }) })
        .bindTooltip(`${esc(t.camera)} ${esc(p.code)} · ${esc(p.name)}<br>${up
          ? `${h.fps} fps · ${esc(t.errors)} ${h.errors} · ${h.findings}` : esc(t.offline)}${p.node
            ? ` · ${esc(t.node)} ${esc(p.node)}` : ""}`)
        .on("click", async (e) => {  // filled first, then opened: Leaflet pans the whole popup into view
          const marker = e.target;
          let html;
          try { html = await cameraPopup(p.code); } catch (err) { html = esc(err.message); }
          marker.unbindPopup().bindPopup(html, { maxWidth: 340, minWidth: 300 }).openPopup();
          const box = marker.getPopup().getElement();
          const img = box && box.querySelector("img.snap");
          if (img) img.addEventListener("error", () => { img.hidden = true; box.querySelector(".snap-none").hidden = false; });
        })
        .addTo(cameraLayer);
    });
  }
  mapEl.addEventListener("click", (e) => {  // a case number in a camera's popup opens the case
    const a = e.target.closest("a[data-case]");
    if (a) { e.preventDefault(); showCase(a.dataset.case); }
  });

  // --- forecast (未诉先办): the blocks where most problems are expected in the next hours, shaded by how many --
  const forecastPane = map.createPane("forecast");
  forecastPane.style.zIndex = 350;  // under the cases and workers, over the tiles and grids
  const forecastLayer = L.layerGroup();
  const forecastSvg = L.svg({ pane: "forecast" });  // its own renderer in its own pane, under the case markers
  let forecastBox = null;
  const ForecastControl = L.Control.extend({
    options: { position: "topright" },
    onAdd() {
      const box = L.DomUtil.create("form", "forecast-ctl");
      box.innerHTML = `<label><input type="checkbox" name="on"> ${esc(t.forecast)}</label>
        <select name="hours" aria-label="${esc(t.forecast)}">${[2, 4, 8, 24].map((h) =>
          `<option value="${h}"${h === 4 ? " selected" : ""}>${esc(t.next_hours.replace("{h}", h))}</option>`).join("")}</select>
        <p class="fc-note" role="status" hidden></p>`;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });
  async function loadForecast() {
    const on = forecastBox.elements.on.checked, hours = forecastBox.elements.hours.value;
    const note = forecastBox.querySelector(".fc-note");
    if (!on) { map.removeLayer(forecastLayer); note.hidden = true; return; }
    let fc;
    try { fc = await getJSON(`/api/v1/forecast?hours=${hours}`); } catch (err) {
      map.removeLayer(forecastLayer); note.textContent = err.message; note.hidden = false; return;
    }
    forecastLayer.clearLayers();
    const top = Math.max(0.001, ...fc.features.map((f) => f.properties.expected));
    L.geoJSON(fc, {
      ...geoJSONOptions, pane: "forecast", renderer: forecastSvg,
      // Shading only: under the grids and cases, which keep their clicks and tooltips.
      interactive: false,
      style: (f) => ({ color: "#b71c1c", weight: 1, fillColor: "#e53935", fillOpacity: 0.12 + 0.5 * f.properties.expected / top }),
    }).eachLayer((l) => forecastLayer.addLayer(l));
    forecastLayer.addTo(map);
    note.textContent = fc.features.length ? t.forecast_total.replace("{n}", fc.total.toFixed(1)).replace("{h}", fc.hours) : t.forecast_none;
    note.hidden = false;
  }

  async function loadKpis() {
    const box = document.getElementById("kpis");
    const k = (await getJSON("/api/v1/kpis?from=" + today())).summary;  // from midnight in the district
    box.querySelectorAll("dd[data-k]").forEach((dd) => { dd.textContent = UO.kpiText(dd.dataset.k, k[dd.dataset.k]); });
  }

  // --- wiring (no inline handlers: the Content-Security-Policy allows none) --------------------------------
  const refresh = () => { loadMap(); loadCases(); if (staff) loadKpis(); };
  document.getElementById("case-detail").addEventListener("click", (e) => {
    if (e.target.closest("button.close")) { e.currentTarget.hidden = true; shown = null; selLayer.clearLayers(); }
    const a = e.target.closest("a[data-case]");  // a possible duplicate's number opens it
    if (a) { e.preventDefault(); showCase(a.dataset.case); }
  });
  const CLOSED_WINDOW_DAYS = 90;
  filters.addEventListener("change", (e) => {
    if (e.target.name === "class") fillCategories();
    // Closed cases pile up for years: choosing them starts from the last 90 days (the field stays editable).
    if (e.target.name === "status" && ["closed", "all"].includes(e.target.value) && !el("from").value) {
      el("from").value = UO.addDays(today(), 1 - CLOSED_WINDOW_DAYS);
    }
    loadMap(); loadCases();
  });
  filters.addEventListener("submit", (e) => { e.preventDefault(); loadMap(); loadCases(); });
  filters.addEventListener("reset", () => setTimeout(() => {  // after the browser has reset the fields
    el("kpi").value = ""; el("worker_id").value = ""; fillCategories(); showDrill(); loadMap(); loadCases();
  }));
  filters.querySelector(".drill .clear").addEventListener("click", () => {
    el("kpi").value = ""; el("worker_id").value = ""; showDrill(); loadMap(); loadCases();
  });
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
    try { await postJSON(`/api/v1/cases/${li.dataset.id}/verify`, body); refresh(); }
    catch (err) { window.alert(err.message); }
  });
  const queue = document.getElementById("verify-queue");
  if (queue) queue.addEventListener("click", () => {
    el("status").value = "reported"; el("sort").value = "newest";
    el("overdue").checked = false; el("q").value = ""; el("inview").checked = false;
    loadMap(); loadCases();
  });
  // Notifications: mine, unread first; opening one shows its case and marks it read.
  const notesEl = document.getElementById("notes");
  async function loadNotes() {
    const feed = await getJSON("/api/v1/notifications?page_size=8");
    notesEl.querySelector("[data-unread]").textContent = feed.unread;
    notesEl.querySelector("[data-unread]").hidden = !feed.unread;
    notesEl.querySelector("button.all").hidden = !feed.unread;
    notesEl.querySelector("ol").innerHTML = feed.items.length ? feed.items.map((n) =>
      `<li data-note="${n.id}" data-case="${n.case ? n.case.id : ""}" class="${n.read_at ? "read" : "unread"} ${n.kind}">
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

  // Live: a burst of changes reloads once; the stream replaces polling (which stays as a slow safety net).
  let pending = null, movedWorkers = null;
  const soon = (fn) => { clearTimeout(pending); pending = setTimeout(fn, 400); };
  const liveEl = document.getElementById("live");
  const source = live({
    case: (e) => { soon(refresh); if (shown === e.case_id) showCase(e.case_id, { pan: false }); },
    notification: () => loadNotes(),
    position: () => { clearTimeout(movedWorkers); movedWorkers = setTimeout(loadWorkers, 1000); },
    resync: () => { refresh(); loadNotes(); },
  });
  if (source) {
    source.onopen = () => { liveEl.className = "live on"; liveEl.textContent = t.live; };
    source.onerror = () => { liveEl.className = "live off"; liveEl.textContent = t.reconnecting; };
  }

  let moved = null;
  Promise.all([loadGrids(), formReady]).then(() => {
    loadMap(); loadCases();
    map.on("moveend", () => {  // panning loads the new viewport once the map rests
      clearTimeout(moved);
      moved = setTimeout(() => { loadMap(); if (listFollowsMap()) loadCases(); }, 250);
    });
  });
  loadNotes();
  setInterval(() => { loadMap(); loadCases(); }, source ? 120000 : 15000);
  if (staff) {
    forecastBox = new ForecastControl().addTo(map).getContainer();
    forecastBox.addEventListener("change", loadForecast);
    setInterval(() => { if (forecastBox.elements.on.checked) loadForecast(); }, 600000);  // the next hours move on
    loadWorkers(); loadKpis(); loadCameras();
    setInterval(loadWorkers, source ? 120000 : 10000);  // positions come with the stream
    setInterval(loadCameras, 15000);
    setInterval(loadKpis, 60000);
  }
  setInterval(() => {  // the panel's countdown moves on by itself
    document.querySelectorAll("#case-detail time[datetime]").forEach((node) => {
      const iso = node.getAttribute("datetime");
      node.textContent = `${when(iso)} (${UO.relative(iso)})`;
    });
  }, 30000);
})();
