/* Local copies of the Leaflet CDN files when the CDN cannot be reached (intranets, outages).
   Loaded right after the CDN <script>, as a file (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";
  var me = document.currentScript;
  if (window.L || !me) return;
  document.write('<link rel="stylesheet" href="' + me.dataset.css + '">');
  document.write('<script src="' + me.dataset.js + '"><\/script>');
})();
