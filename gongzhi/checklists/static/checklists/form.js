// A checklist on the phone: shows and hides questions by their `relevant` expression and checks
// `constraint` as the inspector types. The expressions arrive as trees parsed on the server
// (gongzhi/checklists/expr.py); this file only evaluates them, with the same XPath rules as
// expr.evaluate — keep the two in step. The server checks everything again on submit.
(function () {
  "use strict";
  var NUMBER = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/;

  function toNumber(v) {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    return NUMBER.test(v) ? parseFloat(v) : NaN;
  }
  function toBoolean(v) {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return !(v === 0 || isNaN(v));
    return v !== "";
  }
  function toString(v) {
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return isNaN(v) ? "NaN" : String(v);
    return v;
  }
  function words(s) { return toString(s).split(/\s+/).filter(function (w) { return w !== ""; }); }
  function compare(op, a, b) {
    if (op === "=" || op === "!=") {
      var equal;
      if (typeof a === "boolean" || typeof b === "boolean") equal = toBoolean(a) === toBoolean(b);
      else if (typeof a === "number" || typeof b === "number") equal = toNumber(a) === toNumber(b);
      else equal = toString(a) === toString(b);
      return op === "=" ? equal : !equal;
    }
    var x = toNumber(a), y = toNumber(b);
    if (op === "<") return x < y;
    if (op === "<=") return x <= y;
    if (op === ">") return x > y;
    return x >= y;
  }
  function evaluate(t, values, current) {
    switch (t[0]) {
      case "num": return Number(t[1]);
      case "str": return t[1];
      case "ref": return Object.prototype.hasOwnProperty.call(values, t[1]) ? values[t[1]] : "";
      case "cur": return current;
      case "neg": return -toNumber(evaluate(t[1], values, current));
      case "op": {
        var op = t[1];
        if (op === "or") return toBoolean(evaluate(t[2], values, current)) || toBoolean(evaluate(t[3], values, current));
        if (op === "and") return toBoolean(evaluate(t[2], values, current)) && toBoolean(evaluate(t[3], values, current));
        var a = evaluate(t[2], values, current), b = evaluate(t[3], values, current);
        if (["=", "!=", "<", "<=", ">", ">="].indexOf(op) >= 0) return compare(op, a, b);
        var x = toNumber(a), y = toNumber(b);
        if (op === "+") return x + y;
        if (op === "-") return x - y;
        if (op === "*") return x * y;
        if (op === "div") return x / y;
        if (op === "mod") return y ? x % y : NaN;
        break;
      }
      case "call": {
        var args = t[2].map(function (arg) { return evaluate(arg, values, current); });
        switch (t[1]) {
          case "selected": return words(args[0]).indexOf(toString(args[1]).trim()) >= 0;
          case "count-selected": return words(args[0]).length;
          case "string-length": return toString(args[0]).length;
          case "not": return !toBoolean(args[0]);
          case "true": return true;
          case "false": return false;
          case "number": return toNumber(args[0]);
          case "string": return toString(args[0]);
          case "if": return toBoolean(args[0]) ? args[1] : args[2];
          case "coalesce": return toString(args[0]) !== "" ? args[0] : args[1];
        }
      }
    }
    throw new Error("unknown expression node " + t[0]);
  }
  function holds(json, values, current) {
    if (!json) return true;
    return toBoolean(evaluate(JSON.parse(json), values, current || ""));
  }

  function valueOf(q) {
    var type = q.dataset.type;
    if (type === "select_one") {
      var checked = q.querySelector("input:checked");
      return checked ? checked.value : "";
    }
    if (type === "select_multiple") {
      return Array.prototype.map.call(q.querySelectorAll("input:checked"), function (i) { return i.value; }).join(" ");
    }
    if (type === "note") return "";
    var input = q.querySelector("input, textarea");
    if (!input) return "";
    if (type === "photo") return input.files && input.files.length ? "photo" : "";
    return input.value.trim();
  }

  function setError(q, message) {
    var box = q.querySelector(".cl-error");
    if (box) box.textContent = message;
    q.classList.toggle("has-error", message !== "");
  }

  function init(form) {
    var nodes = Array.prototype.slice.call(form.querySelectorAll("[data-node]"));
    var touched = {};

    function update(showRequired) {
      var values = {};
      nodes.forEach(function (n) { if (n.dataset.node === "question") values[n.dataset.name] = valueOf(n); });
      var firstError = null;
      nodes.forEach(function (n) {
        var parent = n.parentElement.closest("[data-node='group']");
        var relevant = !(parent && parent.dataset.off === "1") && holds(n.dataset.relevant, values, "");
        n.dataset.off = relevant ? "0" : "1";
        n.hidden = !relevant;
        if (n.dataset.node !== "question") return;
        var name = n.dataset.name;
        n.querySelectorAll("input, textarea, button").forEach(function (el) { el.disabled = !relevant; });
        if (!relevant) { values[name] = ""; setError(n, ""); return; }
        var value = values[name];
        var message = "";
        if (value === "" && showRequired && n.dataset.required) message = n.dataset.requiredMessage;
        else if (value !== "" && n.dataset.constraint && !holds(n.dataset.constraint, values, value)) {
          message = n.dataset.constraintMessage;
        }
        if (showRequired || touched[name]) setError(n, message);
        if (message && !firstError) firstError = n;
      });
      return firstError;
    }

    form.addEventListener("input", function (e) {
      var q = e.target.closest("[data-node='question']");
      if (q) touched[q.dataset.name] = true;
      update(false);
    });
    form.addEventListener("change", function (e) {
      var q = e.target.closest("[data-node='question']");
      if (q) touched[q.dataset.name] = true;
      update(false);
    });
    form.addEventListener("submit", function (e) {
      var first = update(true);
      if (first) {
        e.preventDefault();
        first.scrollIntoView({ block: "center" });
      }
    });
    form.querySelectorAll(".cl-locate").forEach(function (button) {
      if (!navigator.geolocation) { button.hidden = true; return; }
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          var input = document.getElementById(button.dataset.target);
          input.value = pos.coords.latitude.toFixed(6) + " " + pos.coords.longitude.toFixed(6) + " 0 " +
            Math.round(pos.coords.accuracy);
          input.dispatchEvent(new Event("input", { bubbles: true }));
        });
      });
    });
    update(false);
    form.dataset.ready = "1";
  }

  document.querySelectorAll("form[data-checklist]").forEach(init);
})();
