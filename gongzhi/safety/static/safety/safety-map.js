// The monthly safety map: each police jurisdiction filled with its level's colour (from map.json),
// a tooltip with the name and level, a click opens the grade. No inline script (CSP).
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("safety-map");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tiles });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    map.setView([39.65, 106.8], 11);
    fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        el.dataset.loaded = String(data.features.length);
        if (!data.features.length) return;
        var layer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#ffffff", weight: 1.5, fillColor: f.properties.colour, fillOpacity: 0.7,
                     className: "safety-area lvl-area-" + (f.properties.level || "none") };
          },
          onEachFeature: function (f, lyr) {
            var label = f.properties.name + (f.properties.level_label ? " · " + f.properties.level_label : "");
            lyr.bindTooltip(label, { className: "map-label" });
            if (f.properties.url) lyr.on("click", function () { window.location.href = f.properties.url; });
          }
        }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
