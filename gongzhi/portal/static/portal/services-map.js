// The 15-minute services map: the home marker, rings at 5/10/15 minutes of walking, the service
// points coloured by type (all from map/points.json: the origin, the rings' radii, the points).
// Public information only: no person's address. No inline script (CSP).
(function () {
  "use strict";
  function text(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
  function init() {
    var el = document.getElementById("services-map");
    if (!el || typeof L === "undefined") return;
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tiles });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    var MIN = " " + (el.dataset.minutes || "min");
    map.setView([30.5, 114.3], 14);
    fetch(el.dataset.points, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        el.dataset.loaded = String(data.features.length);
        if (!data.origin) return;
        var home = [data.origin.lat, data.origin.lon];
        var outer = null;
        data.rings.slice().reverse().forEach(function (ring) {
          var c = L.circle(home, { radius: ring.radius_m, color: "#1f6feb", weight: 1, fillOpacity: 0.05,
                                   dashArray: "4 4", className: "walk-ring ring-" + ring.minutes }).addTo(map);
          c.bindTooltip(ring.minutes + MIN, { className: "map-label" });
          if (!outer) outer = c;
        });
        L.circleMarker(home, { radius: 8, color: "#ffffff", weight: 2, fillColor: "#1f6feb", fillOpacity: 1,
                               className: "home-marker" }).addTo(map)
          .bindTooltip(data.origin.area || "", { className: "map-label" });
        L.geoJSON(data, {
          pointToLayer: function (f, latlng) {
            return L.circleMarker(latlng, { radius: 7, color: "#ffffff", weight: 1.5,
                                            fillColor: f.properties.color, fillOpacity: 0.95,
                                            className: "service-point type-" + f.properties.type });
          },
          onEachFeature: function (f, lyr) {
            var p = f.properties;
            var html = "<strong>" + text(p.name) + "</strong><br>" + text(p.type_name) + " · " + text(p.minutes) + text(MIN);
            if (p.hours) html += "<br>" + text(p.hours);
            if (p.phone) html += "<br><a href=\"tel:" + encodeURIComponent(p.phone) + "\">" + text(p.phone) + "</a>";
            if (p.address) html += "<br>" + text(p.address);
            lyr.bindPopup(html);
          }
        }).addTo(map);
        if (outer) map.fitBounds(outer.getBounds(), { padding: [8, 8] });
        else map.setView(home, 15);
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
