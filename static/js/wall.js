/* 大屏: the command centre's wall display, read-only. Open cases on a dark map (points or cells for the
   viewport), today's figures, the overdue list, today's top categories (ECharts) and camera health; the live
   stream refreshes it within seconds, a slow timer in case the stream is down. Helpers from common.js (UO). */
(function () {
  "use strict";
  const { esc, when, today, getJSON, live, vocabulary, kpiText, bboxOf } = UO;
  const t = JSON.parse(document.getElementById("wall-i18n").textContent);
  const OPEN = vocabulary.open.join(",");

  const clockFmt = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", { timeZone: UO.tz,
    year: "numeric", month: "2-digit", day: "2-digit", weekday: "short", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23" });
  const clock = document.getElementById("clock");
  const tick = () => { clock.textContent = clockFmt.format(new Date()); };
  tick();
  setInterval(tick, 1000);

  const map = UO.baseMap(document.getElementById("wall-map"), { zoomControl: false });
  const caseLayer = L.layerGroup().addTo(map);
  let mapReady = false;
  async function loadMap() {
    if (!mapReady) return;
    const fc = await getJSON(`/api/v1/cases/map?${new URLSearchParams({ status: OPEN, bbox: bboxOf(map), zoom: map.getZoom() })}`);
    UO.drawCases(caseLayer, fc);
  }
  getJSON("/api/v1/grids").then((fc) => {
    const grids = L.geoJSON(fc, { ...UO.geoJSONOptions, style: { color: "#4aa3ff", weight: 1, fillOpacity: 0.04 } }).addTo(map);
    if (fc.features.length) map.fitBounds(grids.getBounds()); else map.setView([30.27, 120.15], 13);
    mapReady = true;
    loadMap();
  });

  async function loadFigures() {
    const k = (await getJSON(`/api/v1/kpis?from=${today()}`)).summary;
    document.querySelectorAll(".w-figs dd[data-k]").forEach((dd) => { dd.textContent = kpiText(dd.dataset.k, k[dd.dataset.k]); });
  }
  async function loadOverdue() {
    const fc = await getJSON(`/api/v1/cases?${new URLSearchParams({ status: OPEN, overdue: "1", sort: "due", page_size: "14" })}`);
    document.getElementById("overdue-count").textContent = fc.total;
    document.getElementById("overdue-list").innerHTML = fc.features.length ? fc.features.map((f) => {
      const q = f.properties;
      return `<li><b>${esc(q.number)}</b><time datetime="${esc(q.due_at)}" title="${esc(when(q.due_at))}">${esc(UO.relative(q.due_at))}</time>
        <small>${esc(q.category_name)} · ${esc(q.status_label)} · ${esc(q.assignee ? q.assignee.name : "")} ${esc(q.address)}</small></li>`;
    }).join("") : `<li class="muted">${esc(t.none)}</li>`;
  }
  const names = {};
  const cats = echarts.init(document.getElementById("top-cats"));
  window.addEventListener("resize", () => cats.resize());
  async function loadCategories() {
    const groups = (await getJSON(`/api/v1/kpis?from=${today()}&group_by=category`)).groups
      .sort((a, b) => b.cases - a.cases).slice(0, 8).reverse();
    cats.setOption({
      title: groups.length ? { text: "" } : { text: t.no_cases, left: "center", top: "middle", textStyle: { color: "#9fb4cc", fontSize: 16 } },
      grid: { left: 8, right: 30, top: 5, bottom: 20, containLabel: true },
      xAxis: { type: "value", minInterval: 1, axisLabel: { color: "#9fb4cc" }, splitLine: { lineStyle: { color: "#1d3a5c" } } },
      yAxis: { type: "category", data: groups.map((g) => names[g.category] || g.category), axisLabel: { color: "#dbe6f3", fontSize: 14 } },
      series: [{ type: "bar", data: groups.map((g) => g.cases), itemStyle: { color: "#4aa3ff" },
        label: { show: true, position: "right", color: "#fff" } }],
    }, true);
  }
  async function loadCameras() {
    const fc = await getJSON("/api/v1/cameras");
    const now = Date.now() / 1000;
    const rows = fc.features.map((f) => {
      const h = f.properties.health;
      return { code: f.properties.code, name: f.properties.name, up: !!(h && !h.stopped && now - h.at < 30), fps: h && h.fps };
    }).sort((a, b) => a.up - b.up);
    const up = rows.filter((r) => r.up).length;
    document.getElementById("cam-sum").textContent = `${up}/${rows.length}`;
    document.getElementById("cam-list").innerHTML = rows.length ? rows.map((r) =>
      `<li class="${r.up ? "up" : "down"}">${esc(r.code)} ${esc(r.name)} ${r.up ? `· ${r.fps} ${esc(t.fps)}` : `· ${esc(t.down)}`}</li>`).join("")
      : `<li class="muted">${esc(t.none)}</li>`;
  }

  const safely = (fn) => () => fn().catch(() => {});  // a failed panel keeps its last figures; the next refresh retries
  const refresh = () => [loadMap, loadFigures, loadOverdue, loadCategories].forEach((fn) => safely(fn)());
  let pending = null;
  const liveEl = document.getElementById("live");
  const source = live({ case: () => { clearTimeout(pending); pending = setTimeout(refresh, 1000); }, resync: refresh });
  if (source) {
    source.onopen = () => { liveEl.className = "live on"; liveEl.textContent = t.live; };
    source.onerror = () => { liveEl.className = "live off"; liveEl.textContent = t.reconnecting; };
  }
  getJSON("/api/v1/categories").then((list) => { list.forEach((c) => { names[c.code] = c.name; }); })
    .catch(() => {}).then(refresh);
  safely(loadCameras)();
  setInterval(refresh, source ? 60000 : 15000);
  setInterval(safely(loadCameras), 15000);
  map.on("moveend", safely(loadMap));
})();
