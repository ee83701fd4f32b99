// Measures a wsspec report as a reader at 1280 px sees it, at its load event (the report's own script
// has run by then): how long it took to load, where the score tables are, how wide the page is, and
// whether the matrix scrolls sideways to its last agent with its case column staying in view (and
// down its cases with its header row staying in view). The
// test appends this script to a copy of the page and reads the figures, as JSON, from the dumped DOM.
window.addEventListener("load", function () {
  "use strict";
  var box = function (el) {
    var r = el.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  };
  var figures = { load_ms: performance.now(), window_width: window.innerWidth };
  var tables = Array.prototype.map.call(document.querySelectorAll("table.score-table"), box);
  figures.score_tables = tables;
  figures.score_tables_overlap = tables.length === 2 &&
    tables[0].left < tables[1].right && tables[1].left < tables[0].right &&
    tables[0].top < tables[1].bottom && tables[1].top < tables[0].bottom;
  figures.page_width = document.documentElement.scrollWidth;
  var wrap = document.querySelector("#matrix .matrix-wrap");
  var heads = document.querySelectorAll("#matrix-table th[data-col]");
  var idCell = document.querySelector("#matrix-table tbody tr[data-case] td.id");
  figures.agents = heads.length;
  figures.matrix_client_width = wrap.clientWidth;
  figures.matrix_scroll_width = wrap.scrollWidth;
  var before = box(idCell);
  wrap.scrollLeft = wrap.scrollWidth;
  figures.matrix_scroll_left = wrap.scrollLeft;
  var view = box(wrap);
  var viewLeft = view.left + wrap.clientLeft, viewRight = viewLeft + wrap.clientWidth;
  var last = box(heads[heads.length - 1]);
  figures.last_agent_in_view = last.left >= viewLeft - 1 && last.right <= viewRight + 1;
  var after = box(idCell);
  figures.case_column_moved_px = after.left - before.left;
  figures.case_column_in_view = after.left >= viewLeft - 1 && after.right <= viewRight + 1;
  // And down the cases: the header row stays at the top of the box.
  var headBefore = box(heads[0]);
  wrap.scrollTop = wrap.scrollHeight;
  figures.matrix_scroll_top = wrap.scrollTop;
  figures.header_row_moved_px = box(heads[0]).top - headBefore.top;
  var out = document.createElement("pre");
  out.id = "wsspec-probe";
  out.textContent = JSON.stringify(figures);
  document.body.appendChild(out);
});
