// The components table: rows from data/components-*.js (window.tribRows), sorted and filtered here.
// Every value is inserted as text (textContent, setAttribute): names, descriptions and errors come from
// the project's configuration and build logs and must never be read as HTML.
(function () {
  "use strict";
  // The order of each row's cells, as tributary.site.model.ComponentRow.table_cells writes them.
  var NAME = 0, PAGE = 1, UPSTREAM = 2, SNAPSHOT = 3, COMMIT = 4, VERSION = 5, RELEASE = 6, OVERLAYS = 7,
      DESCRIPTIONS = 8, FORK = 9, CHANGED = 10, BUILD = 11, SECONDS = 12, ERROR = 13, PACKAGES = 14;
  var data = window.tribRows || [];
  var body = document.getElementById("rows");
  var filter = document.getElementById("filter");
  var status = document.getElementById("status");
  var show = document.getElementById("show");
  var more = document.getElementById("more");
  var every = document.getElementById("every");
  var count = document.getElementById("count");
  var headers = Array.prototype.slice.call(document.querySelectorAll("#components th[data-key]"));

  function text(tag, value, className) {
    var element = document.createElement(tag);
    element.textContent = value === null || value === undefined ? "" : String(value);
    if (className) { element.className = className; }
    return element;
  }

  function cell(children, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    children.forEach(function (child) { td.appendChild(child); });
    return td;
  }

  function makeRow(values) {
    var tr = document.createElement("tr");
    var link = text("a", values[NAME]);
    link.setAttribute("href", values[PAGE]);
    tr.appendChild(cell([link]));
    tr.appendChild(cell([text("span", values[UPSTREAM])]));
    tr.appendChild(cell([text("span", values[SNAPSHOT])]));
    tr.appendChild(cell([text("code", String(values[COMMIT]).slice(0, 12))]));
    tr.appendChild(cell([text("span", values[VERSION] ? values[VERSION] + "-" + values[RELEASE] : "")]));
    var changes = [];
    var summary = values[OVERLAYS] ? values[OVERLAYS] + (values[OVERLAYS] === 1 ? " overlay" : " overlays") : "";
    if (values[FORK]) { summary = (summary ? summary + ", " : "") + "full fork"; }
    if (!summary && values[CHANGED]) { summary = "build options"; }
    changes.push(text("span", summary));
    if (values[DESCRIPTIONS]) {
      var first = String(values[DESCRIPTIONS]);
      changes.push(document.createElement("br"));
      changes.push(text("span", first.length > 90 ? first.slice(0, 89) + "\u2026" : first, "note"));
    }
    var changeCell = cell(changes, "changes");
    if (values[DESCRIPTIONS]) { changeCell.setAttribute("title", values[DESCRIPTIONS]); }
    tr.appendChild(changeCell);
    var build = [text("span", values[BUILD], "badge s-" + String(values[BUILD]).replace(/[^a-z]+/g, "-"))];
    if (values[SECONDS] !== null) { build.push(text("span", " " + Number(values[SECONDS]).toFixed(1) + " s")); }
    if (values[ERROR]) {
      build.push(document.createElement("br"));
      build.push(text("span", values[ERROR], "note"));
    }
    tr.appendChild(cell(build));
    tr.appendChild(cell([text("span", values[PACKAGES])], "num"));
    return tr;
  }

  // Rows are made when first shown, and at most `limit` are in the page at once: a table of 7,600
  // rows costs the browser seconds to lay out; the filter and the sort work on the data.
  var AT_A_TIME = 500;
  var limit = AT_A_TIME;
  var rows = data.map(function (values) {
    return { values: values, name: String(values[NAME]).toLowerCase(), tr: null };
  });

  function matches(row, wanted, build, show) {
    var values = row.values;
    return (!wanted || row.name.indexOf(wanted) !== -1) && (!build || values[BUILD] === build) &&
      (!show || (show === "changed" && values[CHANGED] === 1) || (show === "fork" && values[FORK] === 1) ||
       (show === "overlays" && values[OVERLAYS] > 0) || (show === "unchanged" && values[CHANGED] === 0));
  }

  function apply() {
    var wanted = filter.value.trim().toLowerCase();
    var matched = rows.filter(function (row) { return matches(row, wanted, status.value, show.value); });
    var fragment = document.createDocumentFragment();
    matched.slice(0, limit).forEach(function (row) {
      if (!row.tr) { row.tr = makeRow(row.values); }
      fragment.appendChild(row.tr);
    });
    body.replaceChildren(fragment);
    var shown = Math.min(limit, matched.length);
    count.textContent = "Showing " + shown + " of " + matched.length + (matched.length === rows.length ?
      " components." : " matching components (" + rows.length + " in all).");
    more.hidden = shown === matched.length;
    more.textContent = "Show " + Math.min(AT_A_TIME, matched.length - shown) + " more";
    every.hidden = matched.length - shown <= AT_A_TIME;
    every.textContent = "Show all " + matched.length;
  }

  function sortBy(header) {
    var key = Number(header.getAttribute("data-key"));
    var numeric = header.getAttribute("data-type") === "number";
    var descending = header.getAttribute("aria-sort") === "ascending";
    headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    rows.sort(function (a, b) {
      var x = a.values[key], y = b.values[key], order;
      if (numeric) { order = (Number(x) || 0) - (Number(y) || 0); }
      else { order = String(x).localeCompare(String(y)); }
      if (order === 0) { order = a.name < b.name ? -1 : (a.name > b.name ? 1 : 0); }
      return descending ? -order : order;
    });
    apply();
  }

  function fromHash() {
    var parameters = new URLSearchParams(window.location.hash.slice(1));
    if (parameters.has("q")) { filter.value = parameters.get("q"); }
    if (parameters.has("build")) { status.value = parameters.get("build"); }
    if (parameters.has("show")) { show.value = parameters.get("show"); }
  }

  headers.forEach(function (header) {
    header.querySelector("button").addEventListener("click", function () { sortBy(header); });
  });
  function refilter() { limit = AT_A_TIME; apply(); }
  [filter, status, show].forEach(function (control) { control.addEventListener("input", refilter); });
  more.addEventListener("click", function () { limit += AT_A_TIME; apply(); });
  every.addEventListener("click", function () { limit = rows.length; apply(); });
  window.addEventListener("hashchange", function () { fromHash(); refilter(); });
  fromHash();
  apply();
  document.getElementById("components").setAttribute("data-ready", "true");
}());
