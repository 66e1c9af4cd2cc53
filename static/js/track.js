/* The tracking page's small map: where the reported problem is (a still picture; the page works without it). */
(function () {
  "use strict";
  const el = document.getElementById("track-map");
  if (!el || !window.L) return;
  const [lon, lat] = JSON.parse(el.dataset.lonlat);
  const at = UO.toMap(lon, lat);
  const map = UO.baseMap(el, { preferCanvas: false, zoomControl: false, dragging: false, scrollWheelZoom: false,
    doubleClickZoom: false, touchZoom: false, keyboard: false }).setView(at, 17);
  L.marker(at, { interactive: false, keyboard: false }).addTo(map);
})();
