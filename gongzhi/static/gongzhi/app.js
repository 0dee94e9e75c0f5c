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
  // A long list to choose from (categories, areas, buildings, households, departments of a big city): a
  // search box above it narrows its options to those whose text holds every word typed, group by group.
  // The select stays the form's field; the chosen option always stays in the list. Lists with
  // multiple choice or data-searchable="off" are left as they are.
  var SEARCHABLE_FROM = 30;
  function searchable(select) {
    if (select.getAttribute("data-search-ready") || select.multiple || select.getAttribute("data-searchable") === "off"
        || select.options.length < SEARCHABLE_FROM) return;
    select.setAttribute("data-search-ready", "1");
    var items = Array.prototype.map.call(select.children, function (child) {
      return {node: child, options: child.tagName === "OPTGROUP" ? Array.prototype.slice.call(child.children) : null};
    });
    var input = document.createElement("input");
    input.type = "search";
    input.className = "select-search";
    input.placeholder = document.body.getAttribute("data-select-search") || "";
    input.setAttribute("aria-label", input.placeholder);
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var chosen = select.value;
      function keep(option) {
        var text = option.text.toLowerCase();  // what the user reads (the value is an id)
        return option.value === "" || option.value === chosen || words.every(function (w) { return text.indexOf(w) !== -1; });
      }
      while (select.firstChild) select.removeChild(select.firstChild);
      items.forEach(function (item) {
        if (!item.options) {
          if (keep(item.node)) select.appendChild(item.node);
          return;
        }
        while (item.node.firstChild) item.node.removeChild(item.node.firstChild);
        item.options.forEach(function (option) { if (keep(option)) item.node.appendChild(option); });
        if (item.node.firstChild) select.appendChild(item.node);
      });
      select.value = chosen;
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();  // narrowing the list must not submit the form
    });
    select.parentNode.insertBefore(input, select);
  }
  function searchables(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("select"), searchable);
  }
  document.addEventListener("DOMContentLoaded", function () { searchables(document); });
  document.addEventListener("htmx:load", function (event) { searchables(event.target); });
  // htmx: send Django's CSRF token with every non-GET request.
  document.addEventListener("htmx:configRequest", function (event) {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
  });
})();
