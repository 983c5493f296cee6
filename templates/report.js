(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.classList.remove("hidden");
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  var status = document.getElementById("filter-status");
  var check = document.getElementById("filter-check");
  var subject = document.getElementById("filter-subject");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-status]"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.check"));

  function apply() {
    var s = status.value, c = check.value, q = subject.value.trim().toLowerCase();
    items.forEach(function (el) {
      var show = (!s || el.getAttribute("data-status") === s) &&
                 (!c || el.getAttribute("data-check") === c) &&
                 (!q || (el.getAttribute("data-who") || "").toLowerCase().indexOf(q) !== -1);
      el.classList.toggle("hidden", !show);
    });
    sections.forEach(function (sec) {
      var visible = sec.querySelectorAll("[data-status]:not(.hidden)").length > 0;
      sec.classList.toggle("hidden", !visible);
      if (visible && (s === "pass" || s === "skip")) {
        Array.prototype.forEach.call(sec.querySelectorAll("details.passes"), function (d) { d.open = true; });
      }
    });
    var parts = [];
    if (s) { parts.push("status=" + encodeURIComponent(s)); }
    if (c) { parts.push("check=" + encodeURIComponent(c)); }
    if (q) { parts.push("subject=" + encodeURIComponent(q)); }
    if (history.replaceState) { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname); }
  }

  function fromFragment() {
    var hash = location.hash.replace(/^#/, "");
    if (hash.indexOf("=") === -1) { return; }
    hash.split("&").forEach(function (pair) {
      var kv = pair.split("="), value = decodeURIComponent(kv[1] || "");
      if (kv[0] === "status") { status.value = value; }
      if (kv[0] === "check") { check.value = value; }
      if (kv[0] === "subject") { subject.value = value; }
    });
  }

  [status, check].forEach(function (el) { el.addEventListener("change", apply); });
  subject.addEventListener("input", apply);
  fromFragment();
  apply();

  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.classList.remove("hidden");
    button.addEventListener("click", function () {
      var code = document.getElementById(button.getAttribute("data-target"));
      var text = code ? code.textContent : "";
      function done() { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(code); done(); });
      } else { fallback(code); done(); }
    });
  });

  function fallback(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected for Ctrl+C */ }
  }
})();
