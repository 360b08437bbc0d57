// conncred console: small progressive enhancements. Everything here is
// optional: pages read the same without it. It is served as a file (the
// Content-Security-Policy allows no inline script) and uses no eval.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Absolute times in the viewer's time zone; the title keeps UTC.
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  function localTimes(root) {
    var els = root.querySelectorAll("time[datetime]:not([data-rel])");
    for (var i = 0; i < els.length; i++) {
      var d = new Date(els[i].getAttribute("datetime"));
      if (!isNaN(d)) { els[i].textContent = fmt.format(d); }
    }
  }

  // The one-time secret: copy and download without a server round trip,
  // and nothing of it kept after the page is left.
  function secretOf(btn) {
    var box = btn.closest(".secret");
    var el = box && box.querySelector("[data-secret]");
    return el ? el.textContent.trim() : "";
  }
  function say(btn, text) {
    var box = btn.closest(".secret");
    var st = box && box.querySelector(".copy-status");
    if (st) { st.textContent = text; }
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-copy-secret], button[data-download-secret]");
    if (!btn) { return; }
    var value = secretOf(btn);
    if (!value) { return; }
    if (btn.hasAttribute("data-copy-secret")) {
      if (!navigator.clipboard) { say(btn, "Copy is not available here; open the secret and copy it by hand."); return; }
      navigator.clipboard.writeText(value).then(function () { say(btn, "Copied."); },
        function () { say(btn, "Copy failed; open the secret and copy it by hand."); });
      return;
    }
    var box = btn.closest(".secret");
    var body = JSON.stringify({ clientId: box.getAttribute("data-client-id"), clientSecret: value }, null, 2) + "\n";
    var url = URL.createObjectURL(new Blob([body], { type: "application/json" }));
    var a = document.createElement("a");
    a.href = url;
    a.download = btn.getAttribute("data-download-secret") || "credential.json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 0);
    say(btn, "Downloaded.");
  });

  // Leaving the page wipes the secret, so a page restored from the
  // back/forward cache cannot show it again.
  function wipeSecrets() {
    var els = document.querySelectorAll(".secret");
    for (var i = 0; i < els.length; i++) {
      els[i].innerHTML = "<p>The secret was shown once and is no longer on this page.</p>";
    }
  }
  window.addEventListener("pagehide", wipeSecrets);
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) { wipeSecrets(); } });

  function ready() { localTimes(document); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
  // After htmx swaps in a new <main> (the rotate form's answer), move the
  // focus to it, so keyboard and screen-reader users land on the answer.
  document.addEventListener("htmx:afterSettle", function () {
    localTimes(document);
    var main = document.getElementById("main");
    if (main && !main.contains(document.activeElement)) { main.focus(); }
  });
})();
