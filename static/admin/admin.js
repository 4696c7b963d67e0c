// Hearth admin: small progressive enhancements. The dashboard works without them.
(function () {
  "use strict";
  // htmx requests carry the session's CSRF token.
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // Schema editor: show only the options that apply to each field's type.
  function syncOptions(row) {
    var select = row.querySelector("select[data-field-type]");
    if (!select) { return; }
    row.querySelectorAll("[data-types]").forEach(function (el) {
      var types = el.getAttribute("data-types").split(" ");
      el.hidden = types.indexOf(select.value) < 0;
    });
  }
  function init(root) {
    root.querySelectorAll(".field-row").forEach(function (row) {
      syncOptions(row);
      var select = row.querySelector("select[data-field-type]");
      if (select && !select.dataset.bound) {
        select.dataset.bound = "1";
        select.addEventListener("change", function () { syncOptions(row); });
      }
    });
    // Column chooser and other self-submitting controls.
    root.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      if (el.dataset.bound) { return; }
      el.dataset.bound = "1";
      el.addEventListener("change", function () { if (el.form) { el.form.requestSubmit(); } });
    });
    // Copy buttons (token secrets).
    root.querySelectorAll("[data-copy]").forEach(function (btn) {
      if (btn.dataset.bound) { return; }
      btn.dataset.bound = "1";
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var target = document.getElementById(btn.getAttribute("data-copy"));
        if (target && navigator.clipboard) {
          navigator.clipboard.writeText(target.textContent.trim()).then(function () { btn.textContent = "Copied"; });
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
