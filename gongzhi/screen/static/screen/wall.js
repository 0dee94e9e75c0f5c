// The wall screen: asks data.json every N seconds and redraws in place (no reload, no flicker).
// Charts are ECharts on canvas, the map Leaflet with a canvas renderer and leaflet.heat. Text for
// the page comes from data- attributes (translated by the server); nothing inline (CSP).
(function () {
  "use strict";
  var root, charts = {}, map, markerLayer, heatLayer, outlineBounds = null, fitted = false, last = null;

  function rem() { return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16; }
  function label(name) { return root.dataset["label" + name.charAt(0).toUpperCase() + name.slice(1)] || ""; }
  function $(id) { return document.getElementById(id); }

  function chart(id) {
    if (!charts[id]) {
      charts[id] = echarts.init($(id), "dark", { renderer: "canvas" });
    }
    return charts[id];
  }

  function base(extra) {
    var r = rem();
    var option = {
      backgroundColor: "transparent", animationDurationUpdate: 400,
      textStyle: { fontSize: Math.round(r * 0.8), fontFamily: getComputedStyle(document.body).fontFamily },
      grid: { left: r * 0.6, right: r * 1.2, top: r * 1.2, bottom: r * 0.4, containLabel: true },
      tooltip: { show: false }
    };
    for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) option[k] = extra[k]; }
    return option;
  }

  function drawSource(counts) {
    var r = rem(), rows = counts.by_source;
    chart("chart-source").setOption(base({
      xAxis: { type: "category", data: rows.map(function (s) { return s.name; }),
               axisLabel: { fontSize: Math.round(r * 0.7), interval: 0, rotate: rows.length > 4 ? 20 : 0 } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#1b3a68" } },
               axisLabel: { fontSize: Math.round(r * 0.7) } },
      series: [{ type: "bar", name: label("reports"), data: rows.map(function (s) { return s.count; }),
                 barMaxWidth: r * 2.2, itemStyle: { color: "#4fc3f7", borderRadius: [r * 0.2, r * 0.2, 0, 0] },
                 label: { show: true, position: "top", color: "#fff", fontSize: Math.round(r * 0.75) } }]
    }), { notMerge: false });
  }

  function drawHours(counts) {
    var r = rem(), hours = [];
    for (var h = 0; h < 24; h++) hours.push((h < 10 ? "0" : "") + h);
    chart("chart-hour").setOption(base({
      xAxis: { type: "category", data: hours, boundaryGap: false, axisLabel: { fontSize: Math.round(r * 0.7) } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#1b3a68" } },
               axisLabel: { fontSize: Math.round(r * 0.7) } },
      series: [{ type: "line", name: label("reports"), data: counts.by_hour, smooth: false, symbolSize: r * 0.35,
                 lineStyle: { width: r * 0.15, color: "#ffd54f" }, itemStyle: { color: "#ffd54f" },
                 areaStyle: { color: "rgba(255, 213, 79, 0.18)" } }]
    }));
  }

  function drawRanking(ranking) {
    var r = rem(), rows = (ranking && ranking.rows) || [];
    $("rank-month").textContent = ranking ? ranking.month + " · " + (ranking.pending ? ranking.note : ranking.level_name) : "";
    var shown = rows.slice().reverse();  // the first place on top
    chart("chart-rank").setOption(base({
      grid: { left: r * 0.6, right: r * 4.2, top: r * 0.4, bottom: r * 0.2, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, splitLine: { lineStyle: { color: "#1b3a68" } },
               axisLabel: { fontSize: Math.round(r * 0.65) } },
      yAxis: { type: "category", data: shown.map(function (row) { return (row.rank || "–") + " " + row.name; }),
               axisLabel: { fontSize: Math.round(r * 0.75), color: "#dce6f5" } },
      series: [{ type: "bar", name: label("score"), barMaxWidth: r * 1.1,
                 data: shown.map(function (row) { return row.score === null ? 0 : row.score; }),
                 itemStyle: { color: "#66bb6a", borderRadius: [0, r * 0.2, r * 0.2, 0] },
                 label: { show: true, position: "right", color: "#fff", fontSize: Math.round(r * 0.7),
                          formatter: function (p) {
                            var row = shown[p.dataIndex], change = row.change;
                            var arrow = change > 0 ? " ↑" + change : change < 0 ? " ↓" + (-change) : "";
                            return (row.score === null ? "–" : row.score.toFixed(1)) + arrow;
                          } } }]
    }));
  }

  function drawSafety(safety) {
    var el = $("chart-safety"), none = $("safety-none");
    var levels = (safety && safety.levels) || [];
    var total = levels.reduce(function (sum, l) { return sum + l.count; }, 0);
    $("safety-month").textContent = safety ? safety.month : "";
    if (!total) { el.hidden = true; none.hidden = false; return; }
    el.hidden = false; none.hidden = true;
    var r = rem();
    chart("chart-safety").setOption(base({
      legend: { orient: "vertical", right: 0, top: "middle", textStyle: { fontSize: Math.round(r * 0.7), color: "#dce6f5" },
                itemWidth: r * 0.8, itemHeight: r * 0.6, data: levels.map(function (l) { return l.name; }) },
      series: [{ type: "pie", radius: ["45%", "78%"], center: ["35%", "52%"],
                 label: { show: true, formatter: "{c}", color: "#fff", fontSize: Math.round(r * 0.8) },
                 data: levels.filter(function (l) { return l.count > 0; }).map(function (l) {
                   return { name: l.name, value: l.count, itemStyle: { color: l.colour, borderColor: "#0a1830" } };
                 }) }]
    }));
  }

  function drawOverdue(rows) {
    var list = $("overdue-list"), template = label("late");
    $("overdue-none").hidden = rows.length > 0;
    var items = rows.map(function (row) {
      var li = document.createElement("li");
      var title = document.createElement("span"); title.className = "o-title"; title.textContent = row.title;
      var late = document.createElement("span"); late.className = "o-late";
      late.textContent = row.late_hours === null ? "" : template.replace("%(h)s", row.late_hours);
      var meta = document.createElement("span"); meta.className = "o-meta";
      meta.textContent = [row.number, row.area, row.category, row.department, row.status].filter(Boolean).join(" · ");
      li.appendChild(title); li.appendChild(late); li.appendChild(meta);
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  function initMap() {
    var el = $("wall-map");
    map = L.map(el, { zoomControl: false, attributionControl: !!root.dataset.tiles, preferCanvas: true });
    if (root.dataset.tiles) {
      L.tileLayer(root.dataset.tiles, { maxZoom: 19, attribution: root.dataset.attribution || "" }).addTo(map);
    }
    map.setView([35, 105], 4);
    markerLayer = L.layerGroup().addTo(map);
    heatLayer = L.heatLayer([], { radius: rem() * 1.4, blur: rem() * 1.1, minOpacity: 0.35, maxZoom: 16 }).addTo(map);
    fetch(root.dataset.areas, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        el.dataset.areas = String(data.features.length);
        if (!data.features.length) return;
        var layer = L.geoJSON(data, {
          style: function (f) {
            return f.properties.role === "top"
              ? { color: "#ff8a65", weight: 2.5, fill: false }
              : { color: "#5c8fd6", weight: 1, fillColor: "#1e4d8f", fillOpacity: 0.12 };
          }
        }).addTo(map);
        layer.bringToBack();
        outlineBounds = layer.getBounds();
        map.fitBounds(outlineBounds, { padding: [rem(), rem()] });
        fitted = true;
      })
      .catch(function () { el.dataset.areas = "error"; });
  }

  function drawMap(points) {
    var el = $("wall-map"), r = rem();
    markerLayer.clearLayers();
    points.markers.forEach(function (m) {
      L.circleMarker([m[0], m[1]], { radius: r * (m[2] ? 0.4 : 0.3), weight: 1, color: m[2] ? "#ffcdd2" : "#b3e5fc",
                                      fillColor: m[2] ? "#ff5252" : "#4fc3f7", fillOpacity: 0.9 }).addTo(markerLayer);
    });
    heatLayer.setLatLngs(points.heat);
    el.dataset.markers = String(points.markers.length);
    el.dataset.heat = String(points.heat.length);
    if (!fitted && !outlineBounds) {
      var all = points.markers.concat(points.heat);
      if (all.length) {
        map.fitBounds(L.latLngBounds(all.map(function (p) { return [p[0], p[1]]; })), { padding: [r, r], maxZoom: 15 });
        fitted = true;
      }
    }
  }

  function render(data) {
    last = data;
    var counts = data.counts;
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var value = counts[el.dataset.count];
      el.textContent = value === null || value === undefined ? "–" : String(value) + (el.dataset.suffix || "");
    });
    drawSource(counts);
    drawHours(counts);
    drawRanking(data.ranking);
    drawSafety(data.safety);
    drawOverdue(data.overdue);
    drawMap(data.map);
    $("wall-status").textContent = label("updated") + " " + data.generated_at.slice(11, 19);
    root.dataset.loaded = String((parseInt(root.dataset.loaded || "0", 10) || 0) + 1);
  }

  function poll() {
    var seconds = Math.max(parseInt(root.dataset.refresh, 10) || 15, 3);
    fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render)
      .catch(function () { $("wall-status").textContent = label("offline"); })
      .then(function () { window.setTimeout(poll, seconds * 1000); });
  }

  function tick() {
    var now = new Date();
    // The command center's time (the server's TIME_ZONE), whatever the screen's computer is set to.
    $("wall-clock").textContent = now.toLocaleString(root.dataset.lang === "en" ? "en-GB" : "zh-CN",
      { hour12: false, timeZone: root.dataset.tz || undefined });
  }

  function resize() {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    if (map) map.invalidateSize();
    if (last) render(last);  // sizes in rem follow the new width
  }

  function init() {
    root = $("wall");
    if (!root || typeof echarts === "undefined" || typeof L === "undefined") return;
    initMap();
    tick();
    window.setInterval(tick, 1000);
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(resize, 200);
    });
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
