// Survey pages: copy the link survey URL, send to selected people, poll an import's progress.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copy);
      input.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(input.value); } else { document.execCommand("copy"); }
      button.textContent = "✓";
    });
  });
  var selectForm = document.querySelector("[data-send-selected]");
  if (selectForm) {
    selectForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var ids = Array.from(selectForm.querySelectorAll("input[name=people]:checked")).map(function (c) { return c.value; });
      var target = selectForm.querySelector("select[name=survey]").value;
      window.location.href = target + "?people=" + ids.join(",");
    });
  }
  var box = document.querySelector("[data-import-progress]");
  if (box && (box.dataset.status === "pending" || box.dataset.status === "running")) {
    var poll = function () {
      fetch(box.dataset.importProgress, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          document.getElementById("import-bar").value = data.percent;
          ["processed", "total", "created", "updated", "errors"].forEach(function (key) {
            var el = box.querySelector('[data-field="' + key + '"]');
            if (el) { el.textContent = data[key]; }
          });
          if (data.status === "done" || data.status === "failed") { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 500);
  }
})();
