// Case pages: the case map, the queue's filters and bulk selection, the rating form.
// Loaded as a file: the Content-Security-Policy forbids inline script. Every page works without it.
(function () {
  "use strict";

  // The case's point (and its grid's outline when the viewer may see the grid) on a Leaflet map,
  // the pattern of map.js. With a "locate" form on the page, a tap on the map fills its lon/lat.
  function caseMap() {
    var el = document.getElementById("casemap");
    if (!el || typeof L === "undefined") return;
    var lon = parseFloat(el.dataset.lon), lat = parseFloat(el.dataset.lat);
    var hasPoint = isFinite(lon) && isFinite(lat);
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tiles });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    var marker = null;
    function place(latlng) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.circleMarker(latlng, { radius: 9, color: "#b3261e", weight: 3, fillColor: "#b3261e",
                                             fillOpacity: 0.5 }).addTo(map);
    }
    if (hasPoint) {
      place([lat, lon]);
      map.setView([lat, lon], 16);
    } else {
      map.setView([39.65, 106.8], 11);
    }
    el.dataset.loaded = hasPoint ? "point" : "empty";
    if (el.dataset.geojson) {
      fetch(el.dataset.geojson, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          var self = data.features.filter(function (f) { return f.properties.role === "self"; });
          if (!self.length) return;
          var layer = L.geoJSON({ type: "FeatureCollection", features: self }, {
            style: function () { return { color: "#1f5fbf", weight: 2, fillOpacity: 0.06 }; },
            interactive: false
          }).addTo(map);
          // Without a tile server a lone dot says little: show it inside its grid instead.
          if (!hasPoint || !el.dataset.tiles) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
          if (marker) marker.bringToFront();
          el.dataset.loaded = "area";
        })
        .catch(function () { el.dataset.loaded = "error"; });
    }
    if (el.dataset.pick) {
      var lonInput = document.getElementById("locate-lon"), latInput = document.getElementById("locate-lat");
      map.on("click", function (e) {
        if (!lonInput || !latInput) return;
        lonInput.value = e.latlng.lng.toFixed(6);
        latInput.value = e.latlng.lat.toFixed(6);
        var select = document.getElementById("locate-area");
        if (select) select.value = "";
        place(e.latlng);
        var details = document.getElementById("act-locate");
        if (details) details.open = true;
      });
    }
  }

  // Queue: filters apply as soon as a select changes; "select all" and the count of selected cases.
  function queue() {
    document.querySelectorAll("[data-autosubmit]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.form) input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
      });
    });
    var all = document.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-select]"));
    var counter = document.querySelector("[data-selected-count]");
    var bar = document.getElementById("bulk");
    function update() {
      var n = boxes.filter(function (b) { return b.checked; }).length;
      if (counter) counter.textContent = String(n);
      if (bar) bar.classList.toggle("active", n > 0);
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }

  // Rating: "reopen" only makes sense with "unsatisfied".
  function rating() {
    document.querySelectorAll("form[data-rate]").forEach(function (form) {
      var row = form.querySelector("[data-reopen]");
      if (!row) return;
      var box = row.querySelector("input");
      function update() {
        var chosen = form.querySelector("input[name=rating]:checked");
        var show = !!chosen && chosen.value === "unsatisfied";
        row.hidden = !show;
        if (!show && box) box.checked = false;
      }
      form.addEventListener("change", update);
      update();
    });
  }

  function init() {
    caseMap();
    queue();
    rating();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
