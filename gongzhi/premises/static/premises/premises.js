// The premises form: "use my location" fills the longitude and latitude from the phone's GPS.
(function () {
  "use strict";
  var button = document.getElementById("locate-me");
  if (!button || !navigator.geolocation) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_lon").value = pos.coords.longitude.toFixed(6);
      document.getElementById("id_lat").value = pos.coords.latitude.toFixed(6);
    }, function () { button.disabled = true; }, { enableHighAccuracy: true, timeout: 10000 });
  });
})();
