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

  // `write`: put the filter state into the URL fragment (shareable). Not on load: a fragment that
  // names a finding (#f12, from a topology node or a shared link) must survive for the browser to scroll to it.
  function apply(write) {
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
    var none = document.getElementById("no-match");
    if (none) { none.classList.toggle("hidden", sections.some(function (sec) { return !sec.classList.contains("hidden"); })); }
    var parts = [];
    if (s) { parts.push("status=" + encodeURIComponent(s)); }
    if (c) { parts.push("check=" + encodeURIComponent(c)); }
    if (q) { parts.push("subject=" + encodeURIComponent(q)); }
    if (write && history.replaceState) {
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    }
  }

  function fromFragment() {
    var hash = location.hash.replace(/^#/, "");
    if (hash.indexOf("=") === -1) { return false; }
    status.value = ""; check.value = ""; subject.value = "";
    hash.split("&").forEach(function (pair) {
      var kv = pair.split("="), value = decodeURIComponent(kv[1] || "");
      if (kv[0] === "status") { status.value = value; }
      if (kv[0] === "check") { check.value = value; }
      if (kv[0] === "subject") { subject.value = value; }
    });
    return true;
  }

  function changed() { apply(true); }
  [status, check].forEach(function (el) { el.addEventListener("change", changed); });
  subject.addEventListener("input", changed);
  window.addEventListener("hashchange", function () { if (fromFragment()) { apply(false); } });
  fromFragment();
  apply(false);

  // a topology node: show every finding of its host or path, then go to its most severe one
  Array.prototype.forEach.call(document.querySelectorAll("svg.topology a[data-filter]"), function (a) {
    a.addEventListener("click", function (e) {
      var value = a.getAttribute("data-filter");
      if (!value) { return; }
      e.preventDefault();
      status.value = ""; check.value = ""; subject.value = value;
      apply(true);
      var id = (a.getAttribute("href") || "").replace(/^#/, "");
      var el = document.getElementById(id) || document.getElementById("filters");
      if (el) { el.scrollIntoView(); }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (button) {
    button.classList.remove("hidden");
    button.addEventListener("click", function () {
      var code = document.getElementById(button.getAttribute("data-target"));
      var text = code ? code.textContent : "";
      function done(ok) {
        button.textContent = ok ? "Copied" : "Selected: press Ctrl+C";
        setTimeout(function () { button.textContent = "Copy"; }, ok ? 1500 : 4000);
      }
      if (!code) { return; }
      // navigator.clipboard needs a secure context and permission; a file:// page may have neither,
      // so a refusal falls back to selecting the text and execCommand("copy")
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback(code)); });
      } else { done(fallback(code)); }
    });
  });

  function fallback(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { return document.execCommand("copy"); } catch (e) { return false; /* the text stays selected for Ctrl+C */ }
  }
})();
