/* Verbatim web widget: shows a survey to a signed-in user of your app in a corner panel.
 *
 *   <script src="https://VERBATIM/static/responses/widget.js" async
 *           data-survey="SURVEY_PUBLIC_ID" data-email="jane@example.com" data-user-id="42"
 *           data-user-hash="HMAC_FROM_YOUR_SERVER" data-properties='{"plan": "pro"}'></script>
 *
 * It asks Verbatim whether to show (the account's throttle window applies), then posts the answer
 * as JSON to a CORS endpoint with a signed nonce: no cookies, nothing stored in the browser.
 * See docs/widget.md. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-survey][src*='widget.js']");
  if (!script || !window.fetch) { return; }
  var base = new URL(script.src, window.location.href).origin;
  var survey = script.getAttribute("data-survey");
  var email = script.getAttribute("data-email") || "";
  var userId = script.getAttribute("data-user-id") || "";
  var userHash = script.getAttribute("data-user-hash") || "";  // identity verification (docs/widget.md)
  var properties = {};
  try { properties = JSON.parse(script.getAttribute("data-properties") || "{}"); } catch (e) { properties = {}; }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function style(node, rules) {
    Object.keys(rules).forEach(function (key) { node.style[key] = rules[key]; });
    return node;
  }

  function postJson(url, body) {
    return fetch(url, {method: "POST", credentials: "omit", mode: "cors",
                       headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  }

  function render(config) {
    var color = config.color || "#3b5bdb";
    var chosen = null;
    var panel = style(el("section", {"role": "dialog", "aria-labelledby": "verbatim-q", "lang": config.locale,
                                     "class": "verbatim-widget"}), {
      position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", width: "min(380px, calc(100vw - 32px))",
      background: "#fff", color: "#1f2430", border: "1px solid #d9dce1", borderRadius: "10px",
      boxShadow: "0 8px 30px rgba(0,0,0,.18)", padding: "16px", font: "15px/1.45 system-ui, sans-serif"});
    var close = style(el("button", {"type": "button", "aria-label": config.texts.close, "class": "verbatim-close"}, "\u00d7"), {
      position: "absolute", right: "8px", top: "4px", border: "0", background: "none", fontSize: "22px",
      cursor: "pointer", color: "#5c6370"});
    var question = style(el("p", {"id": "verbatim-q"}, config.question), {margin: "0 28px 12px 0", fontWeight: "600"});
    var scores = style(el("div", {"role": "group", "aria-labelledby": "verbatim-q"}), {
      display: "flex", flexWrap: "wrap", gap: "4px"});
    config.scores.forEach(function (score) {
      var button = style(el("button", {"type": "button", "aria-pressed": "false", "class": "verbatim-score",
                                       "data-score": String(score)}, String(score)), {
        flex: "1 0 28px", padding: "8px 0", border: "2px solid " + color, borderRadius: "6px", background: "#fff",
        color: "#1f2430", fontWeight: "600", cursor: "pointer"});
      button.addEventListener("click", function () {
        chosen = score;
        Array.prototype.forEach.call(scores.children, function (b) {
          var on = b === button;
          b.setAttribute("aria-pressed", on ? "true" : "false");
          b.style.background = on ? color : "#fff";
          b.style.color = on ? "#fff" : "#1f2430";
        });
        more.hidden = false;
      });
      scores.appendChild(button);
    });
    var labels = style(el("div", {"aria-hidden": "true"}), {display: "flex", justifyContent: "space-between",
      color: "#5c6370", fontSize: "12px", marginTop: "4px"});
    labels.appendChild(el("span", {}, config.low_label || ""));
    labels.appendChild(el("span", {}, config.high_label || ""));
    var more = el("div", {});
    more.hidden = true;
    var label = style(el("label", {"for": "verbatim-comment"}, config.texts.comment), {
      display: "block", margin: "12px 0 4px", fontWeight: "600"});
    var comment = style(el("textarea", {"id": "verbatim-comment", "rows": "3", "maxlength": "5000"}), {
      width: "100%", boxSizing: "border-box", padding: "8px", border: "1px solid #767c87", borderRadius: "6px",
      font: "inherit"});
    var send = style(el("button", {"type": "button", "class": "verbatim-send"}, config.texts.send), {
      marginTop: "8px", background: color, color: "#fff", border: "0", borderRadius: "6px", padding: "10px 18px",
      fontWeight: "600", cursor: "pointer"});
    var status = el("p", {"role": "status", "aria-live": "polite"});
    more.appendChild(label);
    more.appendChild(comment);
    more.appendChild(send);
    panel.appendChild(close);
    panel.appendChild(question);
    panel.appendChild(scores);
    panel.appendChild(labels);
    panel.appendChild(more);
    panel.appendChild(status);
    document.body.appendChild(panel);

    close.addEventListener("click", function () {
      postJson(config.dismiss_url, {nonce: config.nonce}).catch(function () { return null; });
      panel.remove();
    });
    send.addEventListener("click", function () {
      if (chosen === null || send.disabled) { return; }
      send.disabled = true;
      postJson(config.post_url, {nonce: config.nonce, score: chosen, comment: comment.value,
                                 properties: properties})
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          while (panel.children.length > 1) { panel.removeChild(panel.lastChild); }
          panel.appendChild(el("p", {"role": "status", "class": "verbatim-thanks"}, config.texts.thanks));
          window.setTimeout(function () { panel.remove(); }, 4000);
        })
        .catch(function () { send.disabled = false; status.textContent = "\u2026"; });
    });
    scores.firstChild.focus({preventScroll: true});
  }

  function start() {
    var query = new URLSearchParams();
    if (email) { query.set("email", email); }
    if (userId) { query.set("user_id", userId); }
    if (userHash) { query.set("user_hash", userHash); }
    fetch(base + "/w/" + encodeURIComponent(survey) + "/config?" + query.toString(), {credentials: "omit", mode: "cors"})
      .then(function (response) {
        if (response.ok) { return response.json(); }
        if (response.status === 400 || response.status === 403) {  // e.g. a missing or wrong user_hash
          response.json().then(function (body) {
            if (window.console) { window.console.warn("Verbatim widget:", JSON.stringify(body.errors)); }
          }).catch(function () { return null; });
        }
        return {show: false};
      })
      .then(function (config) { if (config.show) { render(config); } })
      .catch(function () { return null; });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
