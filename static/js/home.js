/* The public front door: the map of recent reports around the visitor (category, stage in plain words, public
   photo), reloaded as the map moves, and the newest of them as a list. Reporting never depends on it. */
(function () {
  "use strict";
  const { esc, when, relative, toMap, baseMap, bboxOf, getJSON, geoJSONOptions } = UO;
  const opts = document.currentScript.dataset;
  const map = baseMap(document.getElementById("public-map"), { preferCanvas: false }).setView(toMap(120.15, 30.27), 14);
  const layer = L.layerGroup().addTo(map);
  const list = document.getElementById("recent"), empty = document.getElementById("recent-empty");
  const failed = document.getElementById("map-error");
  const photoAlt = opts.photo;

  function popup(p) {
    return `<div class="pub-pop">${p.photo ? `<img src="${esc(p.photo)}" alt="${esc(photoAlt)}" loading="lazy">` : ""}
      <b>${esc(p.category)}</b><br>${esc(p.stage)}<br><span class="muted">${esc(when(p.reported_at))} · ${esc(p.number)}</span></div>`;
  }
  let asked = 0;
  async function load() {
    const mine = ++asked;  // only the newest answer is drawn: a slow one must not replace a later view
    let fc;
    try { fc = await getJSON(`${opts.reports}?bbox=${bboxOf(map)}`); } catch (err) { failed.hidden = false; return; }
    if (mine !== asked) return;
    failed.hidden = true;
    layer.clearLayers();
    fc.features.forEach((f) => {
      const p = f.properties;
      L.circleMarker(toMap(...f.geometry.coordinates), { radius: 8, weight: 2, color: "#fff", fillOpacity: 0.95,
        fillColor: p.done ? "#27ae60" : "#e67e22" }).bindPopup(popup(p), { maxWidth: 240 }).addTo(layer);
    });
    const newest = fc.features.slice(0, 8);
    list.innerHTML = newest.map((f) => `<li><b>${esc(f.properties.category)}</b> · ${esc(f.properties.stage)}
      <span class="muted">· ${esc(relative(f.properties.reported_at))}</span></li>`).join("");
    empty.hidden = newest.length > 0;
  }
  map.on("moveend", load);

  // Where to look first: the visitor's own street when they allow it, else the district's grids.
  let located = false;
  getJSON(opts.grids).then((fc) => {
    const grids = L.geoJSON(fc, geoJSONOptions);
    if (fc.features.length && !located) map.fitBounds(grids.getBounds());
  }).catch(() => null).finally(load);
  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition((pos) => {
      located = true;
      map.setView(toMap(pos.coords.longitude, pos.coords.latitude), 16);
    }, () => null, { timeout: 8000 });
  }
})();
