/* The score page (D5): record the score once the page is visible and ~1.5 s passed, or at the
 * first interaction; a later click changes it. Shows the extra questions of the chosen score's
 * group. Without script, the form's Submit button does all of this. No inline script (CSP). */
(function () {
  "use strict";
  var form = document.getElementById("respond-form");
  if (!form) { return; }
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var status = document.getElementById("respond-status");
  var groups = JSON.parse(form.getAttribute("data-groups") || "{}");
  var scoreBase = form.getAttribute("data-score-base");
  var posted = null;
  var pending = false;
  var timer = null;

  function currentScore() {
    var checked = form.querySelector("input[name=score]:checked");
    return checked ? checked.value : null;
  }

  function showQuestions(group) {
    var sets = form.querySelectorAll("fieldset[data-show-to]");
    for (var i = 0; i < sets.length; i++) {
      var who = sets[i].getAttribute("data-show-to");
      var show = group !== null && (who === "all" || who === group);
      if (group === null) { show = who === "all"; }
      sets[i].hidden = !show;
      sets[i].disabled = !show;
    }
  }

  function post(automatic) {
    var score = currentScore();
    if (!scoreBase || score === null || score === posted || pending) { return; }
    var body = new URLSearchParams();
    body.set("score", score);
    body.set("auto", automatic ? "1" : "0");
    if (form.getAttribute("data-signals") && navigator.webdriver) { body.set("webdriver", "1"); }
    pending = true;
    fetch(scoreBase + "/" + encodeURIComponent(score), {
      method: "POST", credentials: "same-origin", body: body,
      headers: {"X-CSRFToken": csrf, "Accept": "application/json"}
    }).then(function (resp) {
      pending = false;
      if (resp.ok) {
        posted = score;
        status.textContent = form.getAttribute("data-saved-text");
        form.setAttribute("data-saved", score);
        if (currentScore() !== posted) { post(false); }
      } else {
        status.textContent = form.getAttribute("data-error-text");
      }
    }).catch(function () {
      pending = false;
      status.textContent = form.getAttribute("data-error-text");
    });
  }

  function arm() {
    if (timer === null && document.visibilityState === "visible" && currentScore() !== null) {
      timer = window.setTimeout(function () { post(true); }, 1500);
    }
  }

  function firstInteraction() {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = 0;
    form.removeEventListener("pointerdown", firstInteraction);
    form.removeEventListener("keydown", firstInteraction);
    window.setTimeout(function () { post(false); }, 0);
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "score") {
      showQuestions(groups[event.target.value] || null);
      post(false);
    }
  });
  form.addEventListener("pointerdown", firstInteraction);
  form.addEventListener("keydown", firstInteraction);
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    window.setTimeout(function () { button.disabled = true; }, 0);  // after the submit is on its way
  });
  document.addEventListener("visibilitychange", arm);
  showQuestions(currentScore() === null ? null : (groups[currentScore()] || null));
  arm();
}());
