/* 效能分析: KPIs for a chosen period — figures, trends (ECharts), league tables ranked by the composite score, a
   heat map of where problems are reported. Every number links to the console's list of the cases behind it.
   Reads /api/v1/kpis (summary and group_by), /api/v1/cases/map?cells=1; helpers from common.js (UO). */
(function () {
  "use strict";
  const { esc, getJSON, today, addDays, vocabulary, kpiText, toMap, bboxOf } = UO;
  const t = JSON.parse(document.getElementById("dash-i18n").textContent);
  const form = document.getElementById("range");
  const statusEl = document.getElementById("status");
  // Each figure and the case set (app/services/case_search.KPI_SETS) its drill-down lists.
  const FIGURES = [["cases", "cases"], ["closure_rate", "closed"], ["on_time_rate", "on_time"],
    ["rework_rate", "reworked"], ["delay_rate", "delayed"], ["first_time_fix_rate", "first_time_fix"],
    ["mean_close_min", "closed"], ["median_close_min", "closed"], ["p90_close_min", "late"],
    ["mean_satisfaction", "rated"], ["dispatch_accuracy", "auto_dispatched"], ["proactive_rate", "proactive"],
    ["discovery_h", "cases"]];
  const LEAGUE_COLUMNS = ["score", "cases", "on_time_rate", "closure_rate", "rework_rate", "delay_rate",
    "mean_close_min", "mean_satisfaction", "proactive_rate", "patrol_coverage_rate"];

  let group = "grid";
  function period() { return { from: form.elements.from.value, to: form.elements.to.value }; }
  /** The API's period: `to` is exclusive there, the form's last day is included. */
  const apiPeriod = () => ({ from: period().from, to: addDays(period().to, 1) });
  /** The console listing the cases behind a number (its own `to` is inclusive too). */
  function drill(params) {
    const p = new URLSearchParams({ ...period(), status: "all", inview: "0", sort: "newest" });
    Object.entries(params || {}).forEach(([k, v]) => p.set(k, v));
    return `/console?${p}`;
  }

  // --- charts ---------------------------------------------------------------------------------------------
  const charts = {};
  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id));
    return charts[id];
  }
  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
  const empty = (c) => c.setOption({ title: { text: t.none, left: "center", top: "middle",
    textStyle: { color: "#8895a7", fontSize: 13, fontWeight: "normal" } }, series: [], xAxis: [], yAxis: [] }, true);

  function drawTrend(groups) {
    const c = chart("trend");
    if (!groups.length) { empty(c); return; }
    c.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 50, top: 30, bottom: 30 },
      xAxis: { type: "category", data: groups.map((g) => g.day.slice(5)) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: t.reported, type: "bar", data: groups.map((g) => g.cases), itemStyle: { color: "#5b8fc7" } },
        { name: t.closed, type: "bar", data: groups.map((g) => g.closed), itemStyle: { color: "#27ae60" } },
        { name: t.on_time, type: "line", yAxisIndex: 1, smooth: true, itemStyle: { color: "#e67e22" },
          data: groups.map((g) => (g.on_time_rate == null ? null : +(g.on_time_rate * 100).toFixed(1))) },
      ],
    }, true);
    c.off("click");
    c.on("click", (e) => { const g = groups[e.dataIndex]; location.href = drill({ from: g.day, to: g.day }); });
  }
  function drawSources(groups) {
    const c = chart("by-source");
    if (!groups.length) { empty(c); return; }
    c.setOption({
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      series: [{ type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}\n{c}" },
        data: groups.map((g) => ({ name: vocabulary.source[g.source] || g.source, value: g.cases, code: g.source })) }],
    }, true);
    c.off("click");
    c.on("click", (e) => { location.href = drill({ source: e.data.code }); });
  }
  const classNames = {};
  function drawClasses(groups) {
    const c = chart("by-class");
    if (!groups.length) { empty(c); return; }
    const rows = groups.slice().sort((a, b) => a.cases - b.cases);
    c.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 8, right: 20, top: 10, bottom: 25, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: rows.map((g) => classNames[g.class] || g.class) },
      series: [{ type: "bar", data: rows.map((g) => g.cases), itemStyle: { color: "#0b4f8a" } }],
    }, true);
    c.off("click");
    c.on("click", (e) => { location.href = drill({ class: rows[e.dataIndex].class }); });
  }

  // --- figures and league table ----------------------------------------------------------------------------
  function drawFigures(s) {
    document.getElementById("figures").innerHTML = FIGURES.map(([key, set]) =>
      `<a class="fig" href="${esc(drill({ kpi: set }))}" title="${esc(t.drill)}">
        <span class="k">${esc(vocabulary.kpi[key])}</span><b data-k="${key}">${esc(kpiText(key, s[key]))}</b></a>`).join("");
  }
  function drawLeague(out) {
    const table = document.getElementById("league-table");
    // Patrol coverage is a grid's figure (the share of its blocks inspectors rode through).
    const cols = LEAGUE_COLUMNS.filter((k) => k !== "patrol_coverage_rate" || group === "grid");
    table.querySelector("thead").innerHTML = `<tr><th>${esc(t.rank)}</th><th>${esc(t.name[group])}</th>${cols
      .map((k) => `<th>${esc(vocabulary.kpi[k])}</th>`).join("")}</tr>`;
    table.querySelector("tbody").innerHTML = out.groups.length ? out.groups.map((g) =>
      `<tr data-drill='${esc(JSON.stringify(g.drill || {}))}' class="${g.rank == null ? "few" : ""}"
          title="${g.rank == null ? esc(t.few) : esc(t.drill)}">
        <td>${g.rank == null ? "–" : g.rank}</td><td>${esc(group === "grid" && g.name !== g.grid ? `${g.grid} ${g.name}` : g.name)}</td>
        ${cols.map((k) => `<td>${esc(k === "score" ? (g.score == null ? "–" : g.score.toFixed(1)) : kpiText(k, g[k]))}</td>`).join("")}</tr>`).join("")
      : `<tr><td colspan="${cols.length + 2}" class="muted">${esc(t.none)}</td></tr>`;
    document.getElementById("export-league").href = `/api/v1/kpis/export?${new URLSearchParams({ group_by: group, ...apiPeriod() })}`;
  }
  document.getElementById("league-table").addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-drill]");
    if (tr && tr.dataset.drill !== "{}") location.href = drill(JSON.parse(tr.dataset.drill));
  });
  document.querySelector(".league .tabs").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-group]");
    if (!b) return;
    group = b.dataset.group;
    document.querySelectorAll(".league .tabs button").forEach((x) => { x.className = x === b ? "on" : "alt"; });
    keepInAddress();
    drawLeague(await kpis(group));
  });

  // --- heat map: counts per screen cell of the cases reported in the period -------------------------------
  const heatEl = document.getElementById("heat");
  const heat = UO.baseMap(heatEl, { preferCanvas: false });  // a few hundred cells: SVG, one element each
  const heatLayer = L.layerGroup().addTo(heat);
  const RAMP = ["#fff3b0", "#ffd166", "#f8961e", "#e63946", "#9d0208"];
  let heatSeq = 0;
  async function loadHeat() {
    const seq = ++heatSeq;
    // Cells half the console's size (one zoom level finer): a heat map wants more detail than a count badge.
    const p = new URLSearchParams({ ...apiPeriod(), bbox: bboxOf(heat), zoom: heat.getZoom() + 1, cells: "1" });
    const fc = await getJSON(`/api/v1/cases/map?${p}`);
    if (seq !== heatSeq) return;
    heatLayer.clearLayers();
    const counts = fc.features.map((f) => f.properties.count).sort((a, b) => a - b);
    const cut = [0.5, 0.75, 0.9, 0.97].map((q) => counts[Math.floor(q * (counts.length - 1))] || 0);
    fc.features.forEach((f) => {
      const q = f.properties, [x0, y0, x1, y1] = q.cell;
      const level = cut.filter((c) => q.count > c).length;
      L.rectangle([toMap(x0, y0), toMap(x1, y1)], { stroke: false, fillColor: RAMP[level], fillOpacity: 0.65 })
        .bindTooltip(`${q.count} ${t.cases}`).addTo(heatLayer);
    });
  }
  let heatMoved = null, heatReady = false;
  getJSON("/api/v1/grids").then((fc) => {
    const grids = L.geoJSON(fc, { ...UO.geoJSONOptions, style: { color: "#0b4f8a", weight: 1, fill: false } }).addTo(heat);
    if (fc.features.length) heat.fitBounds(grids.getBounds()); else heat.setView([30.27, 120.15], 12);
    heat.on("moveend", () => { clearTimeout(heatMoved); heatMoved = setTimeout(loadHeat, 250); });
    heatReady = true;
    loadHeat();
  });

  // --- loading ---------------------------------------------------------------------------------------------
  const kpis = (by) => getJSON(`/api/v1/kpis?${new URLSearchParams({ ...apiPeriod(), ...(by ? { group_by: by } : {}) })}`);
  function keepInAddress() {
    history.replaceState(null, "", `?${new URLSearchParams({ ...period(), group })}`);
  }
  async function load() {
    if (!form.reportValidity()) return;
    keepInAddress();
    statusEl.textContent = t.loading;
    document.getElementById("export-cases").href = `/api/v1/cases/export?${new URLSearchParams({ ...apiPeriod(), sort: "newest" })}`;
    try {
      const [summary, days, sources, classes, league] = await Promise.all([kpis(), kpis("day"), kpis("source"),
        kpis("class"), kpis(group)]);
      drawFigures(summary.summary);
      drawTrend(days.groups); drawSources(sources.groups); drawClasses(classes.groups); drawLeague(league);
      statusEl.textContent = t.range.replace("{from}", period().from).replace("{to}", period().to);
      if (heatReady) loadHeat();
    } catch (err) {
      statusEl.textContent = t.failed.replace("{why}", err.message);
    }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  form.querySelector(".quick").addEventListener("click", (e) => {
    const days = +e.target.dataset.days;
    if (!days) return;
    form.elements.to.value = today();
    form.elements.from.value = addDays(today(), 1 - days);
    load();
  });

  const params = new URLSearchParams(location.search);
  form.elements.to.value = params.get("to") || today();
  form.elements.from.value = params.get("from") || addDays(today(), -29);
  if (document.querySelector(`.league .tabs button[data-group="${CSS.escape(params.get("group") || "")}"]`)) {
    group = params.get("group");
    document.querySelectorAll(".league .tabs button").forEach((x) => { x.className = x.dataset.group === group ? "on" : "alt"; });
  }
  getJSON("/api/v1/categories").then((cats) => {
    cats.forEach((c) => { classNames[c.class.code] = c.class.name; });
  }).catch(() => {}).then(load);
})();
