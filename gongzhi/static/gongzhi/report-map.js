// The report page's map (part of report.js): GPS, then a pin the user may drag or move by tapping
// (Leaflet, loaded before this script).
(function (R) {
  "use strict";

  var t = function (key, params) { return R.t(key, params); };
  var $ = function (id) { return document.getElementById(id); };

  // --- the map: GPS, then a pin the user may drag or move by tapping ---

  var map = null;
  var marker = null;

  function coordsText(lat, lon) { return t("coords", { lon: lon.toFixed(5), lat: lat.toFixed(5) }); }

  function setPoint(lat, lon, opts) {
    opts = opts || {};
    R.form.elements.lon.value = lon.toFixed(6);
    R.form.elements.lat.value = lat.toFixed(6);
    if (map) {
      if (!marker) {
        var icon = L.divIcon({ className: "report-pin-wrap", html: '<span class="report-pin"></span>',
                               iconSize: [28, 28], iconAnchor: [14, 34] });
        marker = L.marker([lat, lon], { draggable: true, icon: icon, keyboard: true, title: t("pinSet") }).addTo(map);
        marker.on("dragend", function () {
          var p = marker.getLatLng();
          setPoint(p.lat, p.lng, { keepView: true });
        });
      } else {
        marker.setLatLng([lat, lon]);
      }
      if (!opts.keepView) map.setView([lat, lon], Math.max(map.getZoom(), opts.zoom || 16));
    }
    $("place-info").textContent = (opts.note ? opts.note + " " : t("pinSet") + "：") + coordsText(lat, lon);
    if (!opts.quiet) {
      R.showFieldErrors({ lon: [] }, true);
      R.saveDraftSoon();
    }
  }

  function clearPoint() {
    R.form.elements.lon.value = "";
    R.form.elements.lat.value = "";
    if (marker) { map.removeLayer(marker); marker = null; }
    $("place-info").textContent = t("noPin");
    R.saveDraftSoon();
  }

  function placeFromInputs(quiet) {
    var lon = parseFloat(R.form.elements.lon.value);
    var lat = parseFloat(R.form.elements.lat.value);
    if (isFinite(lon) && isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90) {
      setPoint(lat, lon, { quiet: quiet });
    } else if (marker) {
      map.removeLayer(marker);
      marker = null;
    }
  }

  function initMap() {
    var box = $("report-map");
    if (!box || typeof L === "undefined") return;
    map = L.map(box, { zoomControl: true, attributionControl: !!box.dataset.tiles });
    if (box.dataset.tiles) {
      L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
    }
    var b = (box.dataset.bounds || "").split(",").map(parseFloat);
    if (b.length === 4 && b.every(isFinite)) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [8, 8] });
    else map.setView([35, 105], 4);
    if (box.dataset.outline) {
      fetch(box.dataset.outline, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (data) {
          L.geoJSON(data, { interactive: false, style: function (f) {
            return f.properties.role === "self" ? { color: "#1f5fbf", weight: 2, fill: false }
              : { color: "#1f5fbf", weight: 1, opacity: 0.5, fillOpacity: 0.05 };
          } }).addTo(map);
        }).catch(function () {});
    }
    L.control.scale({ imperial: false }).addTo(map);
    map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, { keepView: true }); });
    box.dataset.ready = "1";
  }

  function locate() {
    if (!navigator.geolocation) { $("place-info").textContent = t("noGeolocation"); return; }
    var button = $("locate-me");
    button.disabled = true;
    $("place-info").textContent = t("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      button.disabled = false;
      var c = pos.coords;
      setPoint(c.latitude, c.longitude, { zoom: 17, note: t("located", { m: Math.round(c.accuracy || 0) }) });
    }, function (err) {
      button.disabled = false;
      $("place-info").textContent = err && err.code === 1 ? t("geoDenied") : t("geoFailed");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }
  R.initMap = initMap;
  R.clearPoint = clearPoint;
  R.placeFromInputs = placeFromInputs;
  R.locate = locate;
})(window.gongzhiReport = window.gongzhiReport || {});
