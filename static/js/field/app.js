/* The field app (城管通): my tasks in route order, a map of them, acting on a task (accept, arrived, done with an
   after-photo, cannot handle, more time; verify; check), the patrol round (巡查), patrol reports, the duty switch with position sharing,
   and the outbox banner. Every action goes through the outbox (outbox.js), so it works the same offline.
   Helpers (escaping, JSON, local time, vocabulary, live stream) come from common.js (UO). */
(function () {
  "use strict";
  const { esc, getJSON, postJSON, live, vocabulary } = UO;
  const root = document.getElementById("field");
  const cfg = JSON.parse(root.dataset.settings);
  const t = JSON.parse(root.dataset.i18n);
  Outbox.setOwner(Number(root.dataset.me));
  const $ = (sel) => root.querySelector(sel);
  const fmt = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => vars[k]);  // "due in {t}"
  let tasks = [];  // GeoJSON features of /api/v1/me/tasks
  let here = null;  // [lon, lat] of the phone, when known

  // --- small helpers ---------------------------------------------------------------------------------------
  function toast(text) {
    const el = document.createElement("div");
    el.className = "toast"; el.textContent = text; el.setAttribute("role", "status");
    document.body.appendChild(el);
    setTimeout(() => el.remove(), 3500);
  }
  const span = (s) => (Math.abs(s) >= 3600 ? `${(Math.abs(s) / 3600).toFixed(1)} ${t.h}` : `${Math.max(1, Math.round(Math.abs(s) / 60))} ${t.min}`);
  const dist = (m) => (m == null ? "" : m >= 1000 ? `${(m / 1000).toFixed(1)} ${t.km}` : `${m} ${t.m}`);
  function metres(a, b) {
    const r = Math.PI / 180, dLat = (b[1] - a[1]) * r, dLon = (b[0] - a[0]) * r;
    const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(dLon / 2) ** 2;
    return 2 * 6371000 * Math.asin(Math.sqrt(h));
  }
  /** A phone photo shrunk to the longest side allowed, as a JPEG Blob (a few hundred KB instead of several MB). */
  async function shrink(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, cfg.max_photo_px / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale); canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
  }
  const position = () => new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(here);
    navigator.geolocation.getCurrentPosition((p) => { here = [p.coords.longitude, p.coords.latitude]; resolve(here); },
      () => resolve(here), { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
  });

  // --- tasks -----------------------------------------------------------------------------------------------
  function timeLeft(p) {
    if (!p.due_at) return "";
    const s = (new Date(p.due_at) - Date.now()) / 1000;
    const cls = s < 0 ? "red" : p.share_left != null && p.share_left < 0.2 ? "amber" : "";
    return `<span class="left ${cls}">${esc(s < 0 ? fmt(t.overdue_by, { t: span(s) }) : fmt(t.due_in, { t: span(s) }))}</span>`;
  }
  function render() {
    const list = $("#tasks");
    list.innerHTML = tasks.length ? tasks.map((f) => {
      const p = f.properties, shot = p.media[0];
      return `<li class="task" data-id="${f.id}">
        ${shot ? `<img class="thumb" src="${esc(shot.thumb)}" alt="" loading="lazy">` : ""}
        <div class="what"><span class="kind ${esc(p.task)}">${esc(p.task_label)}</span>
          <b>${esc(p.category_name)}</b>${p.source === "camera" ? ` <span class="badge">${esc(t.camera_case)}</span>` : ""}</div>
        <div class="where">${p.route ? `<span class="stop">${p.route}</span>` : ""}${esc(p.address || p.grid || "")}
          ${p.distance_m != null ? ` · ${esc(dist(p.distance_m))}` : ""}</div>
        <div class="when">${timeLeft(p)} <span class="muted">${esc(vocabulary.status[p.status] || p.status)}</span></div>
      </li>`;
    }).join("") : `<li class="empty">${esc(t.no_tasks)}</li>`;
    const n = tasks.length;
    $("#badge").textContent = n; $("#badge").hidden = !n;
    if (mapReady) drawMap();
  }
  async function loadTasks() {
    try {
      const fc = await getJSON("/api/v1/me/tasks");
      tasks = fc.features;
      Outbox.cacheSet("tasks", fc);
      $("#offline").hidden = true;
    } catch (_) {
      const saved = await Outbox.cacheGet("tasks");
      if (saved) tasks = saved.features;
      $("#offline").textContent = t.offline; $("#offline").hidden = false;
    }
    render();
  }
  $("#tasks").addEventListener("click", (e) => {
    const li = e.target.closest("li.task");
    if (li) openTask(Number(li.dataset.id));
  });

  // --- acting on a task ------------------------------------------------------------------------------------
  const sheet = document.getElementById("sheet");
  const ACTIONS = {  // what each task kind and status offers: [verb, label, inputs]
    handle: {
      dispatched: [["accept", t.accept, []], ["return", t.cannot, ["reason"]]],
      accepted: [["handle", t.arrive, []], ["feedback", t.resolve, ["photo!", "note"]], ["return", t.cannot, ["reason"]],
        ["request-delay", t.delay, ["minutes", "reason"]]],
      handling: [["feedback", t.resolve, ["photo!", "note"]], ["return", t.cannot, ["reason"]],
        ["request-delay", t.delay, ["minutes", "reason"]]],
    },
    // "note!": the note is the reason, and required (the API's verify and check take it as `note`).
    verify: { reported: [["verify", t.valid, ["photo", "note"], { valid: "true" }], ["verify", t.invalid, ["photo", "note!"], { valid: "false" }]] },
    check: { resolved: [["check", t.pass, ["photo", "note"], { passed: "true" }], ["check", t.fail, ["photo", "note!"], { passed: "false" }]] },
  };
  function openTask(id) {
    const f = tasks.find((x) => x.id === id);
    if (!f) return;
    const p = f.properties, [lon, lat] = f.geometry.coordinates;
    const offers = (ACTIONS[p.task] || {})[p.status] || [];
    sheet.innerHTML = `<form method="dialog" class="detail">
      <button class="x" value="close" aria-label="${esc(t.cancel)}">×</button>
      <h2>${esc(p.task_label)} · ${esc(p.category_name)}</h2>
      <p class="muted">${esc(p.number)} · ${esc(vocabulary.status[p.status] || p.status)} ${timeLeft(p)}</p>
      <p>${esc(p.address || p.grid || "")}</p>
      ${p.description ? `<p class="desc">${esc(p.description)}</p>` : ""}
      <div class="shots">${p.media.map((m) => `<a href="${esc(m.view)}" target="_blank" rel="noopener"><img src="${esc(m.thumb)}" alt="${esc(vocabulary.photo[m.kind] || "")}" loading="lazy"></a>`).join("")}</div>
      <p class="nav"><a class="button" href="https://uri.amap.com/marker?position=${lon},${lat}&name=${encodeURIComponent(p.category_name)}&coordinate=wgs84&callnative=1">${esc(t.navigate)}</a>
        <a class="button alt" href="geo:${lat},${lon}?q=${lat},${lon}">${esc(t.other_map)}</a></p>
      <div class="acts">${offers.map((o, i) => `<button type="button" class="act" data-i="${i}">${esc(o[1])}</button>`).join("")}</div>
      <div class="form" hidden></div>
    </form>`;
    sheet.querySelectorAll("button.act").forEach((b) => b.addEventListener("click", () => actionForm(f, offers[Number(b.dataset.i)])));
    sheet.showModal();
  }
  function actionForm(f, [verb, label, inputs, fixed]) {
    const box = sheet.querySelector(".form");
    const fields = inputs.map((k) => {
      const name = k.replace("!", "");
      if (name === "photo") return `<label class="shot">${esc(t.photo)}<input type="file" name="photo" accept="image/*" capture="environment" ${k.endsWith("!") ? "required" : ""}></label>`;
      if (name === "minutes") return `<label>${esc(t.minutes)}<input type="number" name="minutes" min="10" max="10080" value="60" required></label>`;
      const required = name === "reason" || k.endsWith("!");
      return `<label>${esc(required ? t.reason : t.note)}<textarea name="${name}" rows="2" maxlength="500" ${required ? "required" : ""}></textarea></label>`;
    }).join("");
    box.innerHTML = `${fields}<p class="far" hidden></p><div class="row"><button type="button" class="primary go">${esc(label)}</button>
      <button type="button" class="alt back">${esc(t.cancel)}</button></div><progress hidden max="1"></progress>`;
    box.hidden = false;
    sheet.querySelector(".acts").hidden = true;
    box.querySelector(".back").addEventListener("click", () => { box.hidden = true; sheet.querySelector(".acts").hidden = false; });
    if (!inputs.length && verb !== "handle") return submit(f, verb, fixed, box);  // one tap: accept
    box.querySelector(".go").addEventListener("click", () => submit(f, verb, fixed, box));
    if (verb === "handle") arriveCheck(f, box);
  }
  async function arriveCheck(f, box) {
    const pos = await position();
    if (!pos) return;
    const d = Math.round(metres(pos, f.geometry.coordinates));
    if (d > cfg.arrive_radius_m) {  // the server asks the same; asking first saves a round trip
      const far = box.querySelector(".far");
      far.hidden = false; far.textContent = fmt(t.far, { m: d });
      far.insertAdjacentHTML("afterend", `<label>${esc(t.reason)}<textarea name="reason" rows="2" maxlength="500" required></textarea></label>`);
    }
  }
  async function submit(f, verb, fixed, box) {
    const p = f.properties;
    const values = { ...(fixed || {}), base_version: p.version };
    const files = {};
    for (const el of box.querySelectorAll("textarea, input")) {
      if (el.type === "file") {
        if (el.required && !el.files.length) return toast(t.need_photo);
        if (el.files.length) files.photos = [await shrink(el.files[0])];
      } else if (el.value.trim()) values[el.name] = el.value.trim();
      else if (el.required) return toast(t.need_reason);
    }
    if (verb === "handle") {
      const pos = await position();
      if (pos) { values.lon = pos[0].toFixed(7); values.lat = pos[1].toFixed(7); }
    }
    await Outbox.add({ url: `/api/v1/cases/${f.id}/${verb}`, fields: values, files, label: `${p.number} ${box.querySelector(".go").textContent}`, caseId: f.id });
    sheet.close();
    await sendOutbox(true);
  }

  // --- the outbox banner and "needs attention" -------------------------------------------------------------
  async function showOutbox(progress) {
    const actions = await Outbox.all();
    const waiting = actions.filter((a) => a.state === "pending");
    const banner = $("#outbox");
    banner.hidden = !waiting.length;
    banner.textContent = progress != null ? fmt(t.uploading, { p: `${Math.round(progress * 100)}%` }) : fmt(t.waiting, { n: waiting.length });
    const refused = actions.filter((a) => a.state === "attention");
    const att = $("#attention");
    att.hidden = !refused.length;
    att.innerHTML = refused.length ? `<h3>${esc(t.attention)}</h3><ul>${refused.map((a) =>
      `<li><b>${esc(a.label || a.url)}</b><br>${esc(a.error)} <button type="button" data-drop="${a.seq}" class="alt">${esc(t.dismiss)}</button></li>`).join("")}</ul>` : "";
  }
  $("#attention").addEventListener("click", async (e) => {
    const seq = e.target.dataset.drop;
    if (seq) { await Outbox.remove(Number(seq)); showOutbox(); }
  });
  async function sendOutbox(userAction) {
    const before = (await Outbox.all()).filter((a) => a.state === "pending").length;
    const ok = await Outbox.flush({
      progress: (_, share) => showOutbox(share),
      refused: () => { if (navigator.vibrate) navigator.vibrate(300); },
    });
    await showOutbox();
    if (userAction) toast(ok ? t.done : t.queued);
    if (ok && before) loadTasks();
  }
  window.addEventListener("online", () => sendOutbox(false));
  setInterval(() => sendOutbox(false), 30000);

  // --- duty and position -----------------------------------------------------------------------------------
  let watch = null, lastSent = null, lastAt = 0;
  function sendPosition(pos) {
    here = pos;
    const moved = lastSent ? metres(lastSent, pos) : Infinity;
    if (moved < cfg.position_min_move_m && Date.now() - lastAt < cfg.position_every_s * 1000) return;
    lastSent = pos; lastAt = Date.now();
    postJSON("/api/v1/me/position", { lon: pos[0], lat: pos[1] })
      .then(() => { document.getElementById("gps").hidden = false; }, () => { document.getElementById("gps").hidden = true; });
  }
  function share(on) {
    if (watch !== null) { navigator.geolocation.clearWatch(watch); watch = null; }
    document.getElementById("gps").hidden = true;
    if (!on || !navigator.geolocation) return;
    watch = navigator.geolocation.watchPosition((p) => sendPosition([p.coords.longitude, p.coords.latitude]),
      () => { document.getElementById("gps").hidden = true; }, { enableHighAccuracy: true, maximumAge: 10000 });
    // A phone standing still reports no new position: send the last one again on the interval.
    setTimeout(function again() { if (watch !== null) { if (here) sendPosition(here); setTimeout(again, cfg.position_every_s * 1000); } }, cfg.position_every_s * 1000);
  }
  const duty = document.getElementById("duty"), dutyUntil = document.getElementById("duty-until");
  // The shift's end (SHIFT_HOURS after going on duty): the dispatcher sends no work that could only start later.
  function showDuty(u) {
    duty.checked = u.on_duty;
    dutyUntil.hidden = !(u.on_duty && u.duty_until);
    dutyUntil.textContent = u.duty_until ? t.until.replace("{t}", UO.clock(u.duty_until)) : "";
  }
  duty.addEventListener("change", async () => {
    try { showDuty(await postJSON("/api/v1/me/duty", { on_duty: duty.checked })); share(duty.checked); loadRound(); } catch (err) { duty.checked = !duty.checked; toast(err.message); }
  });
  getJSON("/api/v1/me").then((u) => { showDuty(u); share(u.on_duty); if (u.position) here = u.position; }, () => {});

  // --- map (Leaflet loaded only when the map is first opened: the first load stays small) ------------------
  let map = null, mapReady = false, layer = null;
  function loadLeaflet() {
    if (window.L) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet"; css.href = "/static/vendor/leaflet/leaflet.css";
      document.head.appendChild(css);
      const js = document.createElement("script");
      js.src = "/static/vendor/leaflet/leaflet.js"; js.onload = resolve; js.onerror = reject;
      document.head.appendChild(js);
    });
  }
  const maps = {};
  /** The Leaflet map in element `id` with one layer group, made the first time it is shown. */
  async function mapIn(id) {
    await loadLeaflet();
    if (!maps[id]) {
      const m = UO.baseMap(document.getElementById(id));
      maps[id] = { map: m, layer: L.layerGroup().addTo(m) };
    }
    maps[id].map.invalidateSize();
    return maps[id];
  }
  async function showMap() {
    ({ map, layer } = await mapIn("fmap"));
    mapReady = true;
    drawMap();
  }
  function drawMap() {
    layer.clearLayers();
    const pts = [];
    if (here) { const ll = UO.toMap(here[0], here[1]); L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#1e88e5", fillOpacity: 1 }).addTo(layer); pts.push(ll); }
    const ordered = tasks.slice().sort((a, b) => (a.properties.route || 99) - (b.properties.route || 99));
    ordered.forEach((f) => {
      const [lon, lat] = f.geometry.coordinates, p = f.properties, ll = UO.toMap(lon, lat);
      L.marker(ll, { icon: L.divIcon({ className: `pin ${p.task}`, html: String(p.route || "•"), iconSize: [26, 26] }) })
        .on("click", () => openTask(f.id)).addTo(layer);
      pts.push(ll);
    });
    if (tasks.some((f) => f.properties.route)) L.polyline(pts, { color: "#0b4f8a", weight: 3, dashArray: "6 6" }).addTo(layer);
    if (pts.length) map.fitBounds(pts, { padding: [30, 30], maxZoom: 17 }); else map.setView([30.27, 120.15], 13);
  }

  // --- patrol round (巡查): the blocks to ride through, planned from the forecast when the person is free -----
  let round = null, pmap = null, roundLayer = null;
  async function loadRound() {
    try {
      round = (await getJSON("/api/v1/me/patrol")).round;
      Outbox.cacheSet("round", round);
    } catch (_) { round = await Outbox.cacheGet("round"); }
    renderRound();
  }
  function renderRound() {
    const head = $("#round-head"), list = $("#round-stops");
    $("#round-end").hidden = !round;
    $("#round-new").textContent = round ? t.round_new : t.round_plan;
    if (!round) {
      head.textContent = duty.checked ? t.round_none : t.round_off;
      list.innerHTML = "";
    } else {
      const last = round.stops[round.stops.length - 1];
      head.textContent = fmt(t.round_summary, { n: round.stops.length, m: last ? Math.round(last.seen_s / 60) : 0, done: round.done });
      list.innerHTML = round.stops.map((s, i) => `<li class="${s.looked ? "looked" : ""}"><span class="n">${i + 1}</span>
        ${s.looked ? `✓ ${esc(t.round_looked)}` : esc(fmt(t.round_by, { t: UO.clock(s.eta_at) }))}</li>`).join("");
    }
    $("#pmap").hidden = !round;  // a map with nothing on it says nothing
    showRoundMap();
  }
  /** The round's map, made (and sized) only while it can be seen: a map laid out hidden fits nothing. */
  async function showRoundMap() {
    if (!round || $("#tab-patrol").hidden) return;
    ({ map: pmap, layer: roundLayer } = await mapIn("pmap"));
    drawRound();
  }
  const showRound = loadRound;
  let roundSvg = null;  // a few dozen shapes: SVG (the maps default to canvas for the many case markers)
  function drawRound() {
    roundLayer.clearLayers();
    roundSvg = roundSvg || L.svg();
    const pts = [];
    if (here) { const ll = UO.toMap(here[0], here[1]); L.circleMarker(ll, { radius: 7, color: "#fff", weight: 2, fillColor: "#1e88e5", fillOpacity: 1 }).addTo(roundLayer); pts.push(ll); }
    (round ? round.stops : []).forEach((s, i) => {
      const colour = s.looked ? "#2e7d32" : "#e65100";
      L.polygon(s.outline.map(([lon, lat]) => UO.toMap(lon, lat)), { color: colour, weight: 2, fillOpacity: 0.2, renderer: roundSvg }).addTo(roundLayer);
      const ll = UO.toMap(s.lon, s.lat);
      L.marker(ll, { icon: L.divIcon({ className: `pin round${s.looked ? " looked" : ""}`, html: String(i + 1), iconSize: [22, 22] }) }).addTo(roundLayer);
      pts.push(ll);
    });
    if (pts.length > 1) L.polyline(pts, { color: "#e65100", weight: 3, dashArray: "6 6", renderer: roundSvg }).addTo(roundLayer);
    if (pts.length) pmap.fitBounds(pts, { padding: [24, 24], maxZoom: 17 }); else pmap.setView([30.27, 120.15], 13);
  }
  $("#round-new").addEventListener("click", async (e) => {
    const button = e.currentTarget, label = button.textContent;
    button.disabled = true; button.textContent = t.round_planning;  // planning takes a moment on a slow network
    try { round = (await postJSON("/api/v1/me/patrol", {})).round; } catch (err) { toast(err.message); }
    button.disabled = false; button.textContent = label;
    renderRound();
  });
  $("#round-end").addEventListener("click", async () => {
    try { await postJSON("/api/v1/me/patrol/end", {}); round = null; renderRound(); toast(t.round_ended); } catch (err) { toast(err.message); }
  });
  $("#round-report").addEventListener("click", () => root.querySelector('.tabs button[data-tab="report"]').click());

  // --- patrol report: photo → suggested category → GPS pin → send (fixed on the spot closes it) ----------------
  const patrol = document.getElementById("patrol");
  let categories = [];
  getJSON("/api/v1/categories").then((cats) => {
    categories = cats;
    patrol.elements.category.insertAdjacentHTML("beforeend", cats.map((c) =>
      `<option value="${esc(c.code)}">${esc(c.name)}${c.fix_on_site ? " ✓" : ""}</option>`).join(""));
  }, () => {});
  let patrolPhoto = null;
  patrol.elements.photo.addEventListener("change", async () => {
    const file = patrol.elements.photo.files[0];
    if (!file) return;
    patrolPhoto = await shrink(file);
    const img = document.getElementById("patrol-preview");
    img.src = URL.createObjectURL(patrolPhoto); img.hidden = false;
    position().then((pos) => {
      document.getElementById("patrol-where").textContent = pos ? `${t.pin_gps}: ${pos[1].toFixed(5)}, ${pos[0].toFixed(5)}` : t.no_gps;
    });
    const form = new FormData(); form.append("photo", patrolPhoto, "photo.jpg");
    try {
      const r = await fetch("/report/photo", { method: "POST", body: form, credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content } });
      const body = await r.json();
      if (body.suggestion && !patrol.elements.category.value) {
        patrol.elements.category.value = body.suggestion.code;
        toast(`${t.suggested}: ${(categories.find((c) => c.code === body.suggestion.code) || {}).name || body.suggestion.code}`);
      }
    } catch (_) { /* offline: the person picks the category */ }
  });
  // The words suggest a category too (the same text model as the citizens' form): a tap sets it.
  UO.suggestFromText(patrol.elements.description, document.getElementById("patrol-suggest"), cfg.suggest_url,
    (code) => { patrol.elements.category.value = code; });
  patrol.elements.fixed.addEventListener("change", () => {
    document.getElementById("after-shot").hidden = !patrol.elements.fixed.checked;
    patrol.elements.after.required = patrol.elements.fixed.checked;
  });
  patrol.addEventListener("submit", async (e) => {
    e.preventDefault();
    const pos = await position();
    if (!pos) return toast(t.no_gps);
    if (!patrolPhoto) return toast(t.need_photo);
    const fixed = patrol.elements.fixed.checked;
    const files = { photos: [patrolPhoto] };
    if (fixed) {
      if (!patrol.elements.after.files.length) return toast(t.need_photo);
      files.after_photos = [await shrink(patrol.elements.after.files[0])];
    }
    const cat = categories.find((c) => c.code === patrol.elements.category.value);
    await Outbox.add({ url: "/api/v1/cases", files, label: cat ? cat.name : "", fields: {
      category: patrol.elements.category.value, lon: pos[0].toFixed(7), lat: pos[1].toFixed(7),
      description: patrol.elements.description.value, fixed_on_site: fixed ? "true" : "",
      client_request_id: Outbox.newKey() } });
    patrol.reset(); patrolPhoto = null;
    document.getElementById("patrol-preview").hidden = true; document.getElementById("after-shot").hidden = true;
    await sendOutbox(true);
    toast(fixed ? t.fixed : t.report_done);
  });

  // --- tabs, live updates, start --------------------------------------------------------------------------
  root.querySelector(".tabs").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-tab]");
    if (!b) return;
    root.querySelectorAll(".tabs button").forEach((x) => x.setAttribute("aria-selected", String(x === b)));
    ["tasks", "patrol", "map", "report"].forEach((name) => { document.getElementById(`tab-${name}`).hidden = name !== b.dataset.tab; });
    if (b.dataset.tab === "map") showMap();
    if (b.dataset.tab === "patrol") showRound();
  });
  let soon = null;
  const refresh = () => { clearTimeout(soon); soon = setTimeout(loadTasks, 500); };
  // A short two-tone beep where the browser allows sound (after the person has touched the page once).
  function beep() {
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      [880, 660].forEach((hz, i) => {
        const osc = audio.createOscillator();
        osc.frequency.value = hz;
        osc.connect(audio.destination);
        osc.start(audio.currentTime + i * 0.18);
        osc.stop(audio.currentTime + i * 0.18 + 0.15);
      });
    } catch (_) { /* no sound: the vibration and the badge remain */ }
  }
  live({
    case: refresh,
    notification: (n) => {
      // New work and deadline warnings reach the person at once; the rest only refreshes the list.
      if (["task", "check", "warning", "overdue"].includes(n.kind)) {
        if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
        beep();
        toast(`${vocabulary.notification[n.kind] || t.new_task}: ${n.number || ""}`);
      }
      refresh();
    },
    resync: refresh,
  });
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).catch(() => {});
  // Signing out on a shared phone: the next person must not read this one's saved task list. Queued actions stay,
  // marked with their owner: only that person's next sign-in sends them.
  document.querySelector(".fbar form").addEventListener("submit", () => {
    Outbox.cacheSet("tasks", null);
    if (window.caches) caches.keys().then((keys) => keys.forEach((k) => caches.open(k).then((c) =>
      c.keys().then((reqs) => reqs.filter((r) => new URL(r.url).pathname.startsWith("/api/")).forEach((r) => c.delete(r))))));
  });
  loadTasks();
  sendOutbox(false);
  setInterval(loadTasks, 120000);  // a safety net; the live stream brings changes at once
  setInterval(() => { if (!$("#tab-patrol").hidden) loadRound(); }, 60000);  // blocks turn green as one rides
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { loadTasks(); sendOutbox(false); } });
})();
