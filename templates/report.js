(function () {
  "use strict";
  var rowsData = null;  // parsed on first use: at 2,000 hosts it is most of the file, and rarely needed
  function rows(key) {
    if (rowsData === null) {
      var block = document.getElementById("rows");
      try { rowsData = JSON.parse(block ? block.textContent : "{}"); } catch (e) { rowsData = {}; }
    }
    return rowsData[key] || [];
  }

  var CHUNK = 500;

  // one row: [anchor, status, who, message, waived]; text only, never markup
  function tr(row) {
    var tr = document.createElement("tr");
    tr.id = row[0];
    tr.setAttribute("data-row-status", row[1]);
    var badge = document.createElement("span");
    badge.className = "badge " + row[1];
    badge.textContent = row[1] + (row[4] ? " (waived)" : "");
    [badge, row[2], row[3]].forEach(function (value) {
      var td = document.createElement("td");
      if (typeof value === "string") { td.textContent = value; } else { td.appendChild(value); }
      tr.appendChild(td);
    });
    return tr;
  }

  // show rows of a .more container: all of them (in chunks), or those matching a filter
  function fill(box, match) {
    var table = box.querySelector("table.rows"), body = table.querySelector("tbody");
    var button = box.querySelector("button.show-rows");
    var data = rows(box.getAttribute("data-rows"));
    var shown = match ? data.filter(match) : data;
    var limit = match ? CHUNK : Math.min(data.length, (parseInt(box.getAttribute("data-shown") || "0", 10) + CHUNK));
    body.textContent = "";
    shown.slice(0, limit).forEach(function (row) { body.appendChild(tr(row)); });
    box.setAttribute("data-shown", String(Math.min(limit, shown.length)));
    table.classList.toggle("hidden", shown.length === 0);
    if (button) {
      var left = shown.length - Math.min(limit, shown.length);
      button.classList.toggle("hidden", match ? true : left <= 0);
      button.textContent = "Show " + left.toLocaleString() + " more";
    }
    return shown.length;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".more[data-rows]"), function (box) {
    var button = box.querySelector("button.show-rows");
    if (!button) { return; }
    button.classList.remove("hidden");
    button.addEventListener("click", function () { fill(box, null); });
  });

  var form = document.getElementById("filters");
  if (form) {
    form.classList.remove("hidden");
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var status = document.getElementById("filter-status");
    var check = document.getElementById("filter-check");
    var subject = document.getElementById("filter-subject");
    var items = Array.prototype.slice.call(document.querySelectorAll("article.finding[data-status]"));
    var causes = Array.prototype.slice.call(document.querySelectorAll("article.cause"));
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.check"));

    // `write`: put the filter state into the URL fragment (shareable). Not on load: a fragment that
    // names a finding (#f12, from a topology node or a shared link) must survive for the browser to scroll to it.
    var apply = function (write) {
      var s = status.value, c = check.value, q = subject.value.trim().toLowerCase();
      var active = !!(s || c || q);
      function whoMatches(who) { return !q || (who || "").toLowerCase().indexOf(q) !== -1; }
      items.forEach(function (el) {
        var show = (!s || el.getAttribute("data-status") === s) && (!c || el.getAttribute("data-check") === c) &&
                   whoMatches(el.getAttribute("data-who"));
        el.classList.toggle("hidden", !show);
      });
      causes.forEach(function (el) {
        var checks = (el.getAttribute("data-checks") || "").split(" ");
        var box = el.querySelector(".more[data-rows]");
        var who = whoMatches(el.getAttribute("data-who")) ||
          Array.prototype.some.call(el.querySelectorAll("li[data-who]"), function (li) { return whoMatches(li.getAttribute("data-who")); }) ||
          (!!q && !!box && rows(box.getAttribute("data-rows")).some(function (r) { return whoMatches(r[2]); }));
        el.classList.toggle("hidden", !((!s || s === "error") && (!c || checks.indexOf(c) !== -1) && who));
      });
      sections.forEach(function (sec) {
        var matches = 0;
        Array.prototype.forEach.call(sec.querySelectorAll(".more[data-rows]"), function (box) {
          if (!active) {
            box.querySelector("table.rows").classList.add("hidden");
            box.querySelector("tbody").textContent = "";
            box.removeAttribute("data-shown");
            var button = box.querySelector("button.show-rows");
            if (button) { button.classList.remove("hidden"); button.textContent = button.getAttribute("data-label") || button.textContent; }
            return;
          }
          if (c && sec.getAttribute("data-check") !== c) { box.querySelector("table.rows").classList.add("hidden"); return; }
          matches += fill(box, function (r) { return (!s || r[1] === s) && whoMatches(r[2]); });
        });
        var visible = sec.querySelectorAll("article.finding:not(.hidden)").length + matches > 0;
        sec.classList.toggle("hidden", active && !visible);
      });
      var none = document.getElementById("no-match");
      if (none) {
        var any = sections.some(function (sec) { return !sec.classList.contains("hidden"); }) ||
                  causes.some(function (el) { return !el.classList.contains("hidden"); });
        none.classList.toggle("hidden", any);
      }
      var parts = [];
      if (s) { parts.push("status=" + encodeURIComponent(s)); }
      if (c) { parts.push("check=" + encodeURIComponent(c)); }
      if (q) { parts.push("subject=" + encodeURIComponent(q)); }
      if (write && history.replaceState) {
        history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
      }
    };

    Array.prototype.forEach.call(document.querySelectorAll("button.show-rows"), function (b) {
      b.setAttribute("data-label", b.textContent);
    });

    var fromFragment = function () {
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
    };

    var changed = function () { apply(true); };
    [status, check].forEach(function (el) { el.addEventListener("change", changed); });
    subject.addEventListener("input", changed);
    window.addEventListener("hashchange", function () { if (fromFragment()) { apply(false); } });
    if (fromFragment()) { apply(false); }

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
        if (el) {
          var details = el.closest ? el.closest("details") : null;
          if (details) { details.open = true; }
          el.scrollIntoView();
        }
      });
    });
  }

  // a link to an anchor inside a closed <details> (a finding listed under its cause) opens it
  function reveal() {
    var id = location.hash.replace(/^#/, "");
    if (!id || id.indexOf("=") !== -1) { return; }
    var el = document.getElementById(id);
    var details = el && el.closest ? el.closest("details") : null;
    if (details && !details.open) { details.open = true; el.scrollIntoView(); }
  }
  window.addEventListener("hashchange", reveal);
  reveal();

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

  // printing: evidence, reverts and the findings under each cause are part of the document
  var opened = [];
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) { d.open = true; opened.push(d); });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
