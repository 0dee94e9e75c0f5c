// Gongzhi page behaviour. Loaded as a file: the Content-Security-Policy forbids inline script.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toggle]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-toggle"));
    if (!target) return;
    var open = target.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // htmx: send Django's CSRF token with every non-GET request.
  document.addEventListener("htmx:configRequest", function (event) {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
  });
})();
