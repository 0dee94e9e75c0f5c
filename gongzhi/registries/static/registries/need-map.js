// The need map (帮扶地图): each grid shaded by its band of open need cases, a tooltip with the
// suppressed counts ("<3" for small ones), a click opens the filtered list for those who see the
// registry. Only aggregates come from the server: no household, address or name. No inline script (CSP).
(function () {
  "use strict";
  var COLOURS = { few: "#fde9c8", some: "#f6b26b", many: "#d9534f" };
  function init() {
    var el = document.getElementById("need-map");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tiles });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    map.setView([30.5, 114.3], 11);
    fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        el.dataset.loaded = String(data.features.length);
        if (!data.features.length) return;
        var layer = L.geoJSON(data, {
          style: function (f) {
            return { color: "#ffffff", weight: 1.5, fillColor: COLOURS[f.properties.band] || "#cccccc",
                     fillOpacity: 0.7, className: "need-grid band-" + f.properties.band };
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            var parts = p.levels.map(function (l) { return l.label + " " + l.count; });
            lyr.bindTooltip(p.name + " · " + p.open + " (" + parts.join(" / ") + ")", { className: "map-label" });
            if (p.url) lyr.on("click", function () { window.location.href = p.url; });
          }
        }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
