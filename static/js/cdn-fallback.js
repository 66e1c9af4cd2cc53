/* Local copies of a CDN library (Leaflet, ECharts) when the CDN cannot be reached (intranets, outages).
   Loaded right after the CDN <script>, as a file (the Content-Security-Policy allows no inline script);
   data-global names what the library defines (default L), data-css its stylesheet if it has one. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window[me.dataset.global || "L"]) return;
  if (me.dataset.css) document.write('<link rel="stylesheet" href="' + me.dataset.css + '">');
  document.write('<script src="' + me.dataset.js + '"><\/script>');
})();
