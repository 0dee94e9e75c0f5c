// The visit chooser (inspections/visit_new_choose.html): choosing a team reloads the form with that
// team's premises. No inline script (CSP).
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      var premises = select.form.querySelector("select[name=premises]");
      if (premises) premises.disabled = true; // the old team's premises would not belong to the new one
      select.form.submit();
    });
  });
})();
