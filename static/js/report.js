/* Snap-and-report: location from the browser (or the photo's GPS) with a draggable pin, a first check of
   the photo with an AI-suggested category, and "is this the same problem?". */
(function () {
  "use strict";
  const form = document.getElementById("report");
  const mapEl = document.getElementById("pin-map");
  const opts = document.currentScript.dataset;
  const joinLabel = opts.join;
  let pinMovedByHand = false;
  const lon = form.elements.lon, lat = form.elements.lat;
  // Positions on the map are the tiles' (GCJ-02 for Amap tiles); the form keeps WGS-84 (UO.toMap/fromMap).
  const start = UO.toMap(lat.value ? +lon.value : 120.145, lat.value ? +lat.value : 30.255);
  const map = UO.baseMap(mapEl, { preferCanvas: false }).setView(start, 16);
  const pin = L.marker(start, { draggable: true }).addTo(map);
  const set = (ll) => { const w = UO.fromMap(ll); lat.value = w.lat.toFixed(7); lon.value = w.lon.toFixed(7); checkNearby(); };
  pin.on("dragend", () => { pinMovedByHand = true; set(pin.getLatLng()); });
  map.on("click", (e) => { pinMovedByHand = true; pin.setLatLng(e.latlng); set(e.latlng); });
  if (!lat.value && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition((p) => {
      const ll = UO.toMap(p.coords.longitude, p.coords.latitude);  // the phone's GPS is WGS-84
      pin.setLatLng(ll); map.setView(ll, 17); set(ll);
    }, () => set(pin.getLatLng()), { enableHighAccuracy: true, timeout: 8000 });
  } else if (!lat.value) { set(pin.getLatLng()); }

  const esc = UO.esc;
  let photoHash = "";  // the first photo's perceptual hash (from the photo check): "same problem?" weighs it
  async function checkNearby() {
    const box = document.getElementById("nearby");
    const cat = form.elements.category.value;
    if (!cat || !lat.value) { box.hidden = true; return; }
    const q = new URLSearchParams({ category: cat, lon: lon.value, lat: lat.value });
    const words = form.elements.description.value.trim().slice(0, 1000);
    if (words) q.set("text", words);
    if (photoHash) q.set("phash", photoHash);
    const r = await fetch(`/api/v1/nearby?${q}`);
    const rows = r.ok ? await r.json() : [];
    box.hidden = !rows.length;
    box.querySelector("ul").innerHTML = rows.map((c) => `<li>${esc(c.number)} · ${esc(c.category_name)} · ${esc(c.status_label)} · ${c.distance_m} m
      <button type="button" data-join="${esc(c.number)}">${esc(joinLabel)}</button></li>`).join("");
  }
  form.elements.category.addEventListener("change", checkNearby);

  // Category search: narrow the grouped list while typing; a single match is chosen at once.
  const select = form.elements.category;
  document.getElementById("cat-search").addEventListener("input", (e) => {
    const q = e.target.value.trim().toLowerCase();
    const matches = [];
    for (const group of select.querySelectorAll("optgroup")) {
      const inGroup = group.label.toLowerCase().includes(q);
      let shown = 0;
      for (const opt of group.querySelectorAll("option")) {
        const ok = !q || inGroup || opt.textContent.toLowerCase().includes(q) || opt.value.includes(q);
        opt.hidden = opt.disabled = !ok;  // disabled too: some phone pickers ignore hidden options
        if (ok) { shown += 1; matches.push(opt); }
      }
      group.hidden = !shown;
    }
    if (q && matches.length === 1 && select.value !== matches[0].value) {
      select.value = matches[0].value;
      checkNearby();
    }
  });

  // The first photo is checked at once: a clear error now beats one after the whole form is sent.
  const photoError = document.getElementById("photo-error");
  const checking = document.getElementById("photo-checking");
  const hint = document.getElementById("suggestion");
  const showError = (msg) => { photoError.textContent = msg || ""; photoError.hidden = !msg; };
  form.elements.photos.addEventListener("change", async () => {
    const files = form.elements.photos.files;
    hint.hidden = true; showError("");
    if (!files.length) return;
    if (files.length > 3) { showError(opts.tooMany); return; }
    const body = new FormData();
    body.append("photo", files[0]);
    let r;
    checking.hidden = false;  // a big photo on a slow line takes a while to go up: say that something happens
    try {
      r = await fetch(opts.check, { method: "POST", body, headers: { Accept: "application/json",
        "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content } });
    } catch (e) { return; } finally { checking.hidden = true; }  // offline: the server checks again on submit
    const data = await r.json().catch(() => ({}));
    if (!r.ok) { showError((data.error && data.error.message) || r.statusText); return; }
    photoHash = data.phash || "";
    if (data.gps && !pinMovedByHand) {
      const ll = UO.toMap(data.gps.lon, data.gps.lat);  // EXIF GPS is WGS-84
      pin.setLatLng(ll); map.setView(ll, 17); set(ll);
      document.getElementById("gps-note").hidden = false;
    }
    if (!data.gps || pinMovedByHand) checkNearby();  // else moving the pin to the photo's GPS asks again
    if (data.suggestion) {
      hint.querySelector("b").textContent = `${data.suggestion.name} (${Math.round(data.suggestion.confidence * 100)}%)`;
      hint.dataset.code = data.suggestion.code;
      hint.dataset.confidence = data.suggestion.confidence;
      hint.hidden = false;
    }
  });
  hint.querySelector("button").addEventListener("click", () => {
    form.elements.category.value = hint.dataset.code;
    hint.hidden = true;
    checkNearby();
  });
  // As the citizen describes the problem, the words suggest categories (the text model, top 3): one tap picks one.
  UO.suggestFromText(form.elements.description, document.getElementById("text-suggest"), opts.suggest, (code) => {
    form.elements.category.value = code;
    checkNearby();
  }, () => (hint.dataset.code ? { photo_category: hint.dataset.code, photo_confidence: +hint.dataset.confidence } : {}));
  document.getElementById("nearby").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-join]");
    if (b) { form.elements.join.value = b.dataset.join; form.requestSubmit(); }
  });
})();
