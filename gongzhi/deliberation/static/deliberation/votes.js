// Vote pages: show the chosen preset's rules and the building field only when the preset needs it;
// filter the elector list of the paper-entry form by unit code. Works without it (plain forms).
(function () {
  "use strict";
  function presetHelp() {
    var select = document.getElementById("id_preset");
    var help = document.getElementById("preset-help");
    if (!select || !help) return;
    var building = document.querySelector(".field-building");
    help.classList.add("js");
    function show() {
      help.querySelectorAll("[data-preset]").forEach(function (item) {
        item.classList.toggle("chosen", item.getAttribute("data-preset") === select.value);
      });
      if (building) building.classList.toggle("hidden", select.value !== "elevator_two_electorates");
    }
    select.addEventListener("change", show);
    show();
  }
  function electorFilter() {
    document.querySelectorAll("input.elector-filter").forEach(function (input) {
      var select = document.getElementById(input.getAttribute("data-filter-for"));
      if (!select) return;
      input.addEventListener("input", function () {
        var text = input.value.trim().toLowerCase();
        var first = null;
        Array.prototype.forEach.call(select.options, function (option) {
          var match = !option.value || !text || option.text.toLowerCase().indexOf(text) !== -1;
          option.hidden = !match;
          if (match && option.value && first === null) first = option;
        });
        if (text && first) select.value = first.value;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { presetHelp(); electorFilter(); });
})();
