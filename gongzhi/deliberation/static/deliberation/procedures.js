// 四议三公开 and meetings: "添加一行" adds an attendance row (a copy of the last, emptied, numbered on).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-attendee]");
    if (!button) return;
    var list = button.parentNode.querySelector("[data-attendee-rows]");
    if (!list || !list.lastElementChild) return;
    var index = list.children.length;
    var row = list.lastElementChild.cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) {
      input.name = input.name.replace(/^att-\d+-/, "att-" + index + "-");
      if (input.type === "checkbox") input.checked = true;
      else input.value = "";
    });
    list.appendChild(row);
    var first = row.querySelector("input");
    if (first) first.focus();
  });
})();
