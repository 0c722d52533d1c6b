// Progressive enhancement for Candor's pages: every page works without this script; with it,
// the sign-in page can show the password, and the diagnosis catalogue can be searched without
// a round trip. Served from the server's own origin (CSP `script-src 'self'`), no inline code.
(function () {
  "use strict";

  // Show password: a checkbox, hidden unless this script runs, switches the field's type.
  document.querySelectorAll("[data-reveal]").forEach(function (box) {
    var field = document.getElementById(box.getAttribute("data-reveal"));
    var holder = box.closest(".reveal");
    if (!field || !holder) return;
    holder.hidden = false;
    box.addEventListener("change", function () {
      field.type = box.checked ? "text" : "password";
    });
    // The password is never submitted (or remembered by the browser) as a text field.
    if (field.form) {
      field.form.addEventListener("submit", function () {
        field.type = "password";
      });
    }
  });

  // The catalogue's search: rows whose code or title contain every word typed; areas with no
  // row left are hidden.
  var search = document.getElementById("search");
  if (search) {
    var holder = search.closest(".search");
    var none = document.getElementById("search-none");
    if (holder) holder.hidden = false;
    var filter = function () {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var total = 0;
      document.querySelectorAll("section.area").forEach(function (area) {
        var shown = 0;
        area.querySelectorAll("tr[data-code]").forEach(function (row) {
          var text = row.textContent.toLowerCase();
          var hit = words.every(function (w) { return text.indexOf(w) !== -1; });
          row.hidden = !hit;
          if (hit) shown += 1;
        });
        area.hidden = shown === 0;
        total += shown;
      });
      if (none) none.hidden = total !== 0;
    };
    search.addEventListener("input", filter);
    if (search.value) filter();
  }
})();
