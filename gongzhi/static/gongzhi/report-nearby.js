// The report page's similar open cases nearby (part of report.js; cases/duplicates.py): follow one
// instead of reporting it again.
(function (R) {
  "use strict";

  var t = function (key, params) { return R.t(key, params); };
  var $ = function (id) { return document.getElementById(id); };

  // --- similar open cases nearby (cases/duplicates.py): follow one instead of reporting it again ---

  var nearbyTimer = null;
  var nearbyQuery = "";
  var nearbyDismissed = "";

  function nearbySoon() {
    if (!$("nearby")) return;
    window.clearTimeout(nearbyTimer);
    nearbyTimer = window.setTimeout(loadNearby, 600);
  }

  function nearbyNumbers(box) {
    return Array.prototype.map.call(box.querySelectorAll("[data-number]"), function (n) {
      return n.dataset.number;
    }).join(",");
  }

  function loadNearby() {
    var box = $("nearby");
    if (!box || !R.form || navigator.onLine === false) return;
    var lon = R.form.elements.lon.value;
    var lat = R.form.elements.lat.value;
    var title = R.form.elements.title.value.trim();
    var description = R.form.elements.description.value.trim();
    if (!lon || !lat || (title + description).length < 2) {
      nearbyQuery = "";
      box.hidden = true;
      box.textContent = "";
      return;
    }
    var query = new URLSearchParams({ lon: lon, lat: lat, title: title.slice(0, 100),
                                      description: description.slice(0, 1000),
                                      category: R.form.elements.category.value }).toString();
    if (query === nearbyQuery) return;
    nearbyQuery = query;
    fetch(box.dataset.url + "?" + query, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        if (query !== nearbyQuery) return; // an older answer
        var doc = new DOMParser().parseFromString(html, "text/html");
        box.textContent = "";
        Array.prototype.forEach.call(doc.body.childNodes, function (node) {
          box.appendChild(document.importNode(node, true));
        });
        var numbers = nearbyNumbers(box);
        box.hidden = !numbers || numbers === nearbyDismissed;
      }).catch(function () { nearbyQuery = ""; });
  }

  function followCase(button) {
    var data = new FormData();
    data.append("number", button.dataset.follow);
    data.append("lon", R.form.elements.lon.value);
    data.append("lat", R.form.elements.lat.value);
    button.disabled = true;
    fetch($("nearby").dataset.followUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": R.csrfToken() }
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (res.ok && res.body && res.body.url) {
        R.clearDraft(); // followed instead of reported: nothing left to send
        window.location.assign(res.body.url);
        return;
      }
      button.disabled = false;
      R.showStatus((res.body && res.body.error && res.body.error.message) || t("followFailed"), "bad");
    }).catch(function () {
      button.disabled = false;
      R.showStatus(t("followFailed"), "bad");
    });
  }

  function initNearby() {
    var box = $("nearby");
    if (!box) return;
    box.addEventListener("click", function (e) {
      var follow = e.target.closest("[data-follow]");
      if (follow) { e.preventDefault(); followCase(follow); return; }
      if (e.target.id === "nearby-dismiss") {
        nearbyDismissed = nearbyNumbers(box);
        box.hidden = true;
        $("report-submit").focus();
      }
    });
    nearbySoon();
  }
  R.nearbySoon = nearbySoon;
  R.initNearby = initNearby;
})(window.gongzhiReport = window.gongzhiReport || {});
