/* Snap-and-report: location from the browser with a draggable pin, and "is this the same problem?". */
(function () {
  "use strict";
  const form = document.getElementById("report");
  const mapEl = document.getElementById("pin-map");
  const joinLabel = document.currentScript.dataset.join;
  const lon = form.elements.lon, lat = form.elements.lat;
  const start = lat.value ? [+lat.value, +lon.value] : [30.255, 120.145];
  const map = L.map(mapEl).setView(start, 16);
  L.tileLayer(mapEl.dataset.tiles, { maxZoom: 19 }).addTo(map);
  const pin = L.marker(start, { draggable: true }).addTo(map);
  const set = (ll) => { lat.value = ll.lat.toFixed(7); lon.value = ll.lng.toFixed(7); checkNearby(); };
  pin.on("dragend", () => set(pin.getLatLng()));
  map.on("click", (e) => { pin.setLatLng(e.latlng); set(e.latlng); });
  if (!lat.value && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition((p) => {
      const ll = L.latLng(p.coords.latitude, p.coords.longitude);
      pin.setLatLng(ll); map.setView(ll, 17); set(ll);
    }, () => set(pin.getLatLng()), { enableHighAccuracy: true, timeout: 8000 });
  } else if (!lat.value) { set(pin.getLatLng()); }

  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  async function checkNearby() {
    const box = document.getElementById("nearby");
    const cat = form.elements.category.value;
    if (!cat || !lat.value) { box.hidden = true; return; }
    const r = await fetch(`/api/v1/nearby?category=${encodeURIComponent(cat)}&lon=${lon.value}&lat=${lat.value}`);
    const rows = r.ok ? await r.json() : [];
    box.hidden = !rows.length;
    box.querySelector("ul").innerHTML = rows.map((c) => `<li>${esc(c.number)} · ${esc(c.status_label)} · ${c.distance_m} m
      <button type="button" data-join="${esc(c.number)}">${esc(joinLabel)}</button></li>`).join("");
  }
  form.elements.category.addEventListener("change", checkNearby);
  document.getElementById("nearby").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-join]");
    if (b) { form.elements.join.value = b.dataset.join; form.requestSubmit(); }
  });
})();
