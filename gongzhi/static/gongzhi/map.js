// Draws an area and its children on a Leaflet map. Tiles come from the deployment's own tile
// server (MAP_TILE_URL); without one the polygons are drawn on a plain background.
(function () {
  "use strict";
  function init() {
    var el = document.getElementById("map");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tiles });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    map.setView([39.65, 106.8], 11);
    fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (!data.features.length) return;
        var layer = L.geoJSON(data, {
          style: function (f) {
            return f.properties.role === "self"
              ? { color: "#b3261e", weight: 3, fill: false }
              : { color: "#1f5fbf", weight: 1.5, fillOpacity: 0.12 };
          },
          onEachFeature: function (f, lyr) {
            if (f.properties.role !== "child") return;
            lyr.bindTooltip(f.properties.name, { className: "map-label" });
            lyr.on("click", function () { window.location.href = f.properties.url; });
          }
        }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [8, 8] });
        el.dataset.loaded = String(data.features.length);
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
