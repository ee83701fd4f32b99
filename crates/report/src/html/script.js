// wsspec report: the matrix filters, and each case's outcomes drawn from the embedded case data
// (gzip, inflated with DecompressionStream) when the case comes near the view or is linked to, with
// its wire transcripts drawn when opened.
// Plain DOM calls only; every text goes in through textContent, never as markup.
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  // ---- Matrix filters ----
  var table = $("#matrix-table");
  if (table) {
    // A row's agent cells, by agent index (their place in the row).
    var rows = $$("tbody tr[data-case]", table).map(function (tr) {
      return { tr: tr, cells: $$("td[data-verdict]", tr) };
    });
    var heads = $$("th[data-col]", table);
    var groups = $$("tbody[data-group]", table);
    var controls = ["#f-section", "#f-verdict", "#f-agent", "#f-differ", "#f-text"].map(function (s) { return $(s); });
    var count = $("#f-count");
    var problems = { "fail": 1, "error": 1, "non-strict": 1 };

    var apply = function () {
      var section = controls[0].value, verdict = controls[1].value;
      var agent = controls[2] ? controls[2].value : "";
      var differ = controls[3] ? controls[3].checked : false;
      var text = controls[4].value.trim().toLowerCase();
      var other = function (index) { return agent !== "" && String(index) !== agent; };
      heads.forEach(function (th) { th.hidden = other(th.dataset.col); });
      rows.forEach(function (row) { row.cells.forEach(function (td, index) { td.hidden = other(index); }); });
      var shown = 0;
      rows.forEach(function (row) {
        var tr = row.tr, ok = !section || tr.dataset.section === section;
        if (ok && verdict) {
          ok = row.cells.some(function (td, index) {
            if (other(index)) return false;
            return verdict === "problems" ? problems[td.dataset.verdict] === 1 : td.dataset.verdict === verdict;
          });
        }
        if (ok && differ) ok = tr.dataset.differs === "1";
        if (ok && text) ok = tr.dataset.search.indexOf(text) !== -1;
        tr.hidden = !ok;
        if (ok) shown++;
      });
      groups.forEach(function (g) {
        var visible = $$("tr[data-case]:not([hidden])", g).length;
        g.hidden = visible === 0;
        $(".n", g).textContent = "(" + visible + ")";
      });
      count.textContent = shown === rows.length ? rows.length + " cases" : shown + " of " + rows.length + " cases";
    };
    controls.forEach(function (c) { if (c) c.addEventListener(c.type === "search" ? "input" : "change", apply); });

    // A cell's tooltip, made when the pointer first reaches it: "agent case: VERDICT", then the close
    // verdict and the duration once the case's data is inflated (well before a tooltip shows).
    var names = {};
    $$("#f-verdict option").forEach(function (o) { if (o.value) names[o.value] = o.textContent; });
    table.addEventListener("mouseover", function (ev) {
      var a = ev.target.closest && ev.target.closest("td[data-verdict] a");
      if (!a || a.title) return;
      var td = a.parentNode, id = td.dataset.case;
      var index = $$("td[data-verdict]", td.parentNode).indexOf(td);
      var title = td.dataset.agent + " " + id + ": " + (names[td.dataset.verdict] || td.dataset.verdict);
      a.title = title;
      outcomesOf(id).then(function (results) {
        var r = results[index];
        if (r) a.title = title + ", close " + r.c + ", " + r.d;
      }, function () {});
    });
  }

  // ---- Wire transcripts ----
  var opcodes = { 0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG" };
  var arrows = { s: "→ sent", r: "← recv", n: "· note" };

  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // Offset, 16 bytes in two groups of 8, and the printable characters.
  var hexdump = function (hex, total) {
    var lines = [];
    for (var off = 0; off < hex.length / 2; off += 16) {
      var bytes = [], ascii = "";
      for (var i = off; i < Math.min(off + 16, hex.length / 2); i++) {
        var b = parseInt(hex.substr(i * 2, 2), 16);
        bytes.push(hex.substr(i * 2, 2));
        ascii += b >= 32 && b < 127 ? String.fromCharCode(b) : ".";
      }
      var left = bytes.slice(0, 8).join(" "), right = bytes.slice(8).join(" ");
      lines.push(("0000" + off.toString(16)).slice(-4) + "  " + (left + "  " + right).padEnd(49) + " " + ascii);
    }
    var shown = hex.length / 2;
    if (total > shown) lines.push("… " + (total - shown) + " more bytes (" + total + " in all)");
    return el("pre", "hex", lines.join("\n"));
  };

  // Where an entry's repeat count is, after its fields, by kind.
  var repeatsAt = { b: 5, f: 10, e: 4 };

  var describe = function (cell, e) {
    var kind = e[2];
    var again = e[repeatsAt[kind]];
    if (again) cell.appendChild(el("span", "op", "×" + (again + 1) + " in a row "));
    if (kind === "e") { cell.appendChild(document.createTextNode(e[3])); return; }
    if (kind === "b") {
      cell.appendChild(el("span", "op", e[3] + " bytes"));
      if (e[4]) cell.appendChild(hexdump(e[4], e[3]));
      return;
    }
    // A frame: [µs, dir, "f", fin, rsv, opcode, mask, len, payload, is_hex]
    var op = e[5], name = opcodes[op] || "OPCODE " + op;
    cell.appendChild(el("span", "op", name));
    var flags = [e[3] ? "FIN" : "no FIN"];
    if (e[4]) flags.push("RSV=" + e[4]);
    flags.push("len " + e[7]);
    if (e[6]) flags.push("mask " + e[6]);
    if (op === 8 && e[9] && e[8].length >= 4) flags.push("code " + parseInt(e[8].substr(0, 4), 16));
    cell.appendChild(el("span", "flags", flags.join(" · ")));
    if (e[7] > 0) {
      if (e[9]) {
        cell.appendChild(hexdump(e[8], e[7]));
      } else {
        var more = e[7] > new TextEncoder().encode(e[8]).length ? " …" : "";
        cell.appendChild(document.createElement("br"));
        cell.appendChild(el("span", "payload", JSON.stringify(e[8]) + more));
      }
    }
  };

  var render = function (details) {
    var body = $(".wire-body", details);
    var w = details.wire;
    body.textContent = "";
    if (!w) { body.appendChild(el("p", "muted", "No transcript recorded.")); return; }
    if (w.h) {
      var hs = el("div", "handshake");
      [["Request", w.h[0]], ["Response", w.h[1]]].forEach(function (part) {
        var box = el("div");
        box.appendChild(el("h5", "", part[0]));
        box.appendChild(el("pre", "", part[1] || "(none)"));
        hs.appendChild(box);
      });
      body.appendChild(hs);
    }
    var t = el("table", "transcript"), tb = el("tbody");
    w.e.forEach(function (e, i) {
      if (w.g && w.g[0] === i) {
        var gap = el("tr", "gap"), td = el("td", "", "… " + w.g[1] + " entries left out here (results.json keeps the first and last ones the run recorded) …");
        td.colSpan = 3;
        gap.appendChild(td);
        tb.appendChild(gap);
      }
      var tr = el("tr", e[1]);
      tr.appendChild(el("td", "t", (e[0] / 1000).toFixed(3) + " ms"));
      tr.appendChild(el("td", "d", arrows[e[1]] || e[1]));
      var what = el("td", "w");
      describe(what, e);
      tr.appendChild(what);
      tb.appendChild(tr);
    });
    if (w.g && w.g[0] >= w.e.length) {
      var end = el("tr", "gap"), cell = el("td", "", "… " + w.g[1] + " more entries left out …");
      cell.colSpan = 3;
      end.appendChild(cell);
      tb.appendChild(end);
    }
    t.appendChild(tb);
    body.appendChild(t);
    details.dataset.drawn = "1";
  };

  // ---- Case outcomes ----
  var dataBlock = $("#case-data");
  var data = dataBlock ? JSON.parse(dataBlock.textContent) : { agents: [], cases: {} };
  var inflating = {};

  // A case's outcomes, one per agent (null where it did not run the case), from its packed part.
  var outcomesOf = function (id) {
    if (!inflating[id]) {
      var packed = data.cases[id];
      if (!packed) {
        inflating[id] = Promise.resolve([]);
      } else if (typeof DecompressionStream === "undefined") {
        inflating[id] = Promise.reject(new Error("this browser has no DecompressionStream"));
      } else {
        var text = atob(packed), bytes = new Uint8Array(text.length);
        for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
        var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
        inflating[id] = new Response(stream).text().then(JSON.parse);
      }
    }
    return inflating[id];
  };

  var line = function (cls, key, text) {
    var p = el("p", cls);
    p.appendChild(el("span", "k", key));
    p.appendChild(document.createTextNode(text));
    return p;
  };

  var aspect = function (label, value) {
    var span = el("span", "aspect", label);
    span.appendChild(el("b", "", value));
    return span;
  };

  // One agent's outcome: as section.outcome#r{agent}-{case}, the anchor the matrix links to.
  var outcome = function (index, id, r) {
    var agent = data.agents[index] || { n: "agent " + index, r: "" };
    var section = el("section", "outcome v-" + r.v);
    section.id = "r" + index + "-" + id;
    section.dataset.agent = agent.n;
    section.dataset.verdict = r.v;
    var head = el("div", "outcome-head"), who = el("span", "who");
    who.appendChild(el("span", "agent-name", agent.n));
    who.appendChild(document.createTextNode(" "));
    who.appendChild(el("span", "role", agent.r));
    head.appendChild(who);
    head.appendChild(el("span", "chip v-" + r.v, r.V));
    head.appendChild(aspect("behaviour ", r.b));
    head.appendChild(aspect("close ", r.c));
    head.appendChild(el("span", "aspect", r.d));
    if (r.p) head.appendChild(el("span", "aspect perf", r.p));
    section.appendChild(head);
    if (r.x) section.appendChild(line("expected", "Expected", r.x));
    section.appendChild(line("actual", "Happened", r.a));
    if (r.n) {
      var notes = el("ul", "notes");
      r.n.forEach(function (note) { notes.appendChild(el("li", "", note)); });
      section.appendChild(notes);
    }
    section.appendChild(line("close", "Close", r.k));
    if (r.o) section.appendChild(line("close", "Client saw", r.o));
    var details = el("details", "wire");
    details.dataset.wire = section.id;
    details.wire = r.w;
    details.appendChild(el("summary", "", "Wire transcript: " + r.m + " entries" + (r.w && r.w.h ? ", with the opening handshake" : "")));
    details.appendChild(el("div", "wire-body"));
    section.appendChild(details);
    return section;
  };

  // Draws a case's outcomes once; the promise settles when they are there.
  var drawn = {};
  var drawCase = function (article) {
    var id = article.dataset.case;
    if (!drawn[id]) {
      var box = $(".outcomes", article);
      drawn[id] = outcomesOf(id).then(function (results) {
        box.textContent = "";
        results.forEach(function (r, index) { if (r) box.appendChild(outcome(index, id, r)); });
        box.dataset.drawn = "1";
      }, function (err) {
        box.textContent = "";
        box.appendChild(el("p", "muted", "The outcomes cannot be shown here (" + err.message + "); results.json holds them."));
      });
    }
    return drawn[id];
  };

  var articles = $$("article.case[data-case]");
  if (typeof IntersectionObserver === "function") {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        observer.unobserve(entry.target);
        drawCase(entry.target);
      });
    }, { rootMargin: "1200px 0px" });
    articles.forEach(function (article) { observer.observe(article); });
  } else {
    articles.forEach(drawCase);
  }

  // A link to an outcome (#r3-1.1.1) or a case (#case-1.1.1): draw the case first, then go there.
  var reveal = function () {
    var target = decodeURIComponent(location.hash.slice(1));
    var match = /^(?:r\d+-|case-)(.+)$/.exec(target);
    var article = match && document.getElementById("case-" + match[1]);
    if (!article) return;
    drawCase(article).then(function () {
      var goal = document.getElementById(target);
      if (!goal) return;
      $$(".targeted").forEach(function (t) { t.classList.remove("targeted"); });
      goal.classList.add("targeted");
      goal.scrollIntoView();
    });
  };
  window.addEventListener("hashchange", reveal);
  if (location.hash) reveal();

  // "toggle" does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (d.matches && d.matches("details[data-wire]") && d.open && !d.dataset.drawn) render(d);
  }, true);
})();
