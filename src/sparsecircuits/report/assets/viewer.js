// sparsecircuits report viewer. Data comes from the inline JSON block; every piece of text
// from the data is inserted with textContent (never innerHTML), so it shows as text.
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var COLUMNS = [
    ["attn.act_in", "attn in"],
    ["attn.qkv", "q / k / v"],
    ["attn.resid_delta", "attn out"],
    ["mlp.act_in", "mlp in"],
    ["mlp.post_act", "neurons"],
    ["mlp.resid_delta", "mlp out"],
  ];
  var SITE_COLOURS = {
    "attn.act_in": "#5b6f8f",
    "attn.q": "#7b4fc2",
    "attn.k": "#b0429a",
    "attn.v": "#2f8f83",
    "attn.resid_delta": "#3c5fb0",
    "mlp.act_in": "#6f7a52",
    "mlp.post_act": "#b7791f",
    "mlp.resid_delta": "#9b4a2c",
  };
  var SITE_WORDS = {
    "attn.act_in": "attention input (residual read)",
    "attn.q": "query channel",
    "attn.k": "key channel",
    "attn.v": "value channel",
    "attn.resid_delta": "attention output (residual write)",
    "mlp.act_in": "MLP input (residual read)",
    "mlp.post_act": "MLP neuron",
    "mlp.resid_delta": "MLP output (residual write)",
  };
  var QKV_ORDER = { "attn.q": 0, "attn.k": 1, "attn.v": 2 };

  // ---- small DOM helpers ------------------------------------------------------------------
  function el(tag, attrs) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function sv(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") e.textContent = String(v);
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    });
  }
  function append(e, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(e, c); }); return; }
    if (typeof child === "string" || typeof child === "number") e.appendChild(document.createTextNode(String(child)));
    else e.appendChild(child);
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function isNum(x) { return typeof x === "number" && isFinite(x); }
  function fmt(x, digits) {
    if (!isNum(x)) return "\u2014";
    digits = digits === undefined ? 3 : digits;
    if (x !== 0 && Math.abs(x) < Math.pow(10, -digits)) return x.toExponential(1);
    return x.toFixed(digits);
  }
  function fmtSigned(x, digits) {
    if (!isNum(x)) return "\u2014";
    return (x > 0 ? "+" : "") + fmt(x, digits);
  }
  function fmtInt(x) { return isNum(x) ? Math.round(x).toLocaleString("en-US") : "\u2014"; }

  // ---- colour scale for activations ------------------------------------------------------
  function actColour(v, scale) {
    if (!isNum(v) || !scale) return "transparent";
    var a = Math.min(1, Math.abs(v) / scale);
    if (a < 0.02) return "transparent";
    return v > 0 ? "rgba(37, 99, 235, " + (0.08 + 0.72 * a).toFixed(3) + ")"
                 : "rgba(217, 72, 15, " + (0.08 + 0.72 * a).toFixed(3) + ")";
  }
  function showToken(t) {
    // Make whitespace visible without changing the text's meaning.
    return t.replace(/\n/g, "\u21b5\n").replace(/\t/g, "\u2192   ");
  }

  // ---- state ---------------------------------------------------------------------------
  var state = { circuit: 0, node: null };
  var app = document.getElementById("app");
  var view = {};  // per-render handles: svg, nodeEls, card

  function circuitNodeMap(c) {
    if (!c._byId) {
      c._byId = {};
      c.nodes.forEach(function (n) { c._byId[n.id] = n; });
      c._in = {}; c._out = {};
      c.edges.forEach(function (e, i) {
        (c._out[e.src] = c._out[e.src] || []).push(i);
        (c._in[e.dst] = c._in[e.dst] || []).push(i);
      });
      c._resid = residualLinks(c);
    }
    return c._byId;
  }
  function siteOrder(site) {
    var order = ["attn.act_in", "attn.q", "attn.k", "attn.v", "attn.resid_delta", "mlp.act_in", "mlp.post_act", "mlp.resid_delta"];
    return order.indexOf(site);
  }
  function residualLinks(c) {
    // A write (resid_delta channel ch) feeds every later read (act_in channel ch): identity
    // links in the residual stream, drawn but not counted as edges.
    var writes = c.nodes.filter(function (n) { return /resid_delta$/.test(n.site); });
    var reads = c.nodes.filter(function (n) { return /act_in$/.test(n.site); });
    var links = [];
    writes.forEach(function (w) {
      reads.forEach(function (r) {
        if (r.index !== w.index) return;
        var later = r.layer > w.layer || (r.layer === w.layer && siteOrder(r.site) > siteOrder(w.site));
        if (later) links.push({ src: w.id, dst: r.id });
      });
    });
    return links;
  }
  function columnOf(n) { return QKV_ORDER[n.site] !== undefined ? "attn.qkv" : n.site; }

  // ---- index -----------------------------------------------------------------------------
  function verdictBadge(c) {
    var v = c.validation && c.validation.verdict;
    if (v === "pass") return el("span", { class: "badge pass", text: "pass" });
    if (v === "fail") return el("span", { class: "badge fail", text: "fail" });
    if (v) return el("span", { class: "badge none", text: String(v) });
    return el("span", { class: "badge none", text: "not validated" });
  }
  function renderIndex() {
    var rows = DATA.circuits.map(function (c, i) {
      var t = c.task || {};
      var L = c.losses || {};
      var counts = c.counts || {};
      return el("tr", { class: i === state.circuit ? "current" : null },
        el("td", null, el("button", { class: "linkish", type: "button", text: t.name || c.file,
          "aria-label": "show circuit " + (t.name || c.file), onclick: function () { selectCircuit(i, null, true); } })),
        el("td", { class: "small" }, String(t.class_pos || "positive"),
          el("span", { class: "muted", text: " vs " }), String(t.class_neg || "negative")),
        el("td", { class: "num", text: fmt(L.full_model) }),
        el("td", { class: "num", text: fmt(L.circuit) }),
        el("td", { class: "num", text: fmt(c.target_loss, 2) }),
        el("td", { class: "num", text: fmtInt(counts.nodes !== undefined ? counts.nodes : c.nodes.length) }),
        el("td", { class: "num", text: fmtInt(counts.edges !== undefined ? counts.edges : c.edges.length) }),
        el("td", null, verdictBadge(c)));
    });
    return el("section", { "aria-label": "circuit index" },
      el("h2", { text: "Circuits" }),
      el("table", { class: "index" },
        el("thead", null, el("tr", null,
          el("th", { text: "task" }), el("th", { text: "classes (A vs B)" }),
          el("th", { class: "num", text: "full-model loss" }), el("th", { class: "num", text: "circuit loss" }),
          el("th", { class: "num", text: "target" }), el("th", { class: "num", text: "nodes" }),
          el("th", { class: "num", text: "edges" }), el("th", { text: "validation" }))),
        el("tbody", null, rows)));
  }

  // ---- circuit header --------------------------------------------------------------------
  function stat(k, v) { return el("div", { class: "stat" }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v })); }
  function renderHeader(c) {
    var t = c.task || {};
    var L = c.losses || {};
    var counts = c.counts || {};
    var parts = [];
    parts.push(el("h2", null, "Circuit: ", el("code", { text: t.name || c.file })));
    if (t.description) parts.push(el("p", { text: t.description }));
    parts.push(el("div", { class: "classes" },
      el("span", { class: "cls" }, el("span", { class: "swatch", "data-cls": "pos" }), el("b", { text: "A: " }), String(t.class_pos || "")),
      el("span", { class: "cls" }, el("span", { class: "swatch", "data-cls": "neg" }), el("b", { text: "B: " }), String(t.class_neg || ""))));
    parts.push(el("div", { class: "summary" },
      stat("full-model loss", fmt(L.full_model)),
      stat("circuit loss", fmt(L.circuit)),
      L.circuit_calibrated !== undefined && L.circuit_calibrated !== null ? stat("circuit, calibrated", fmt(L.circuit_calibrated)) : null,
      stat("target", fmt(c.target_loss, 2)),
      stat("nodes", fmtInt(counts.nodes !== undefined ? counts.nodes : c.nodes.length) +
        (isNum(counts.model_nodes) ? " / " + fmtInt(counts.model_nodes) : "")),
      stat("edges", fmtInt(counts.edges !== undefined ? counts.edges : c.edges.length)),
      stat("ablation", String(c.ablation || "\u2014")),
      isNum(L.circuit_accuracy) ? stat("circuit accuracy", fmt(L.circuit_accuracy * 100, 1) + "%") : null));
    parts.push(el("p", { class: "small muted" }, "file ", el("code", { text: c.file }), " \u00b7 model run ",
      el("code", { text: (c.model && c.model.run) || "?" }), " \u00b7 weights ",
      el("code", { text: ((c.model && c.model.weights_sha256) || "?").slice(0, 12) })));
    (c.notes || []).forEach(function (n) { parts.push(el("div", { class: "note", text: n })); });
    parts.push(renderValidation(c));
    return parts;
  }
  function renderValidation(c) {
    var v = c.validation;
    if (!v) return el("p", { class: "small" }, "Validation: ", verdictBadge(c),
      el("span", { class: "muted", text: " (run `sparsecircuits validate` on the circuit file)" }));
    var checks = v.checks || {};
    var rows = Object.keys(checks).map(function (k) {
      var ch = checks[k] || {};
      var passed = ch.passed === true ? el("span", { class: "badge pass", text: "pass" })
        : ch.passed === false ? el("span", { class: "badge fail", text: "fail" })
        : el("span", { class: "badge none", text: "n/a" });
      var details = Object.keys(ch).filter(function (x) { return x !== "passed" && x !== "threshold"; }).map(function (x) {
        var val = ch[x];
        return x + " " + (isNum(val) ? fmt(val) : typeof val === "object" ? JSON.stringify(val) : String(val));
      }).join(", ");
      return el("tr", null, el("td", null, el("code", { text: k })), el("td", null, passed),
        el("td", { class: "muted", text: details }),
        el("td", { class: "muted", text: ch.threshold !== undefined ? String(ch.threshold) : "" }));
    });
    return el("div", null, el("p", { class: "small" }, "Validation: ", verdictBadge(c)),
      rows.length ? el("table", { class: "checks" }, el("tbody", null, rows)) : null);
  }

  // ---- graph -----------------------------------------------------------------------------
  var PILL_W = 60, PILL_H = 20, ROW = 27, COL = 122, TOP = 54, LEFT = 20, HEAD_GAP = 10;

  function layoutGraph(c) {
    // Columns in forward order, layer by layer; only columns holding nodes are drawn.
    var layers = {};
    c.nodes.forEach(function (n) {
      var L = layers[n.layer] = layers[n.layer] || {};
      (L[columnOf(n)] = L[columnOf(n)] || []).push(n);
    });
    var layerIds = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; });
    var cols = [];
    layerIds.forEach(function (li) {
      COLUMNS.forEach(function (spec) {
        var ns = layers[li][spec[0]];
        if (!ns) return;
        ns.sort(function (a, b) {
          if (spec[0] === "attn.qkv") {
            var ha = isNum(a.head) ? a.head : 0, hb = isNum(b.head) ? b.head : 0;
            if (ha !== hb) return ha - hb;
            if (QKV_ORDER[a.site] !== QKV_ORDER[b.site]) return QKV_ORDER[a.site] - QKV_ORDER[b.site];
          }
          return a.index - b.index;
        });
        cols.push({ layer: li, key: spec[0], title: spec[1], nodes: ns });
      });
    });
    // Height of each column, counting gaps between heads in the q/k/v column.
    var heights = cols.map(function (col) {
      var h = col.nodes.length * ROW, prev = null;
      col.nodes.forEach(function (n) {
        if (col.key === "attn.qkv" && prev !== null && n.head !== prev) h += HEAD_GAP;
        prev = n.head;
      });
      return h;
    });
    var maxH = Math.max.apply(null, heights.concat([ROW]));
    var pos = {};
    var heads = [];
    cols.forEach(function (col, ci) {
      col.x = LEFT + ci * COL + PILL_W / 2 + 10;
      var y = TOP + (maxH - heights[ci]) / 2 + ROW / 2, prev = null, group = null;
      col.nodes.forEach(function (n) {
        if (col.key === "attn.qkv" && prev !== null && n.head !== prev) y += HEAD_GAP;
        if (col.key === "attn.qkv" && (group === null || n.head !== prev)) {
          group = { x: col.x, y0: y, y1: y, head: n.head };
          heads.push(group);
        }
        if (group && col.key === "attn.qkv") group.y1 = y;
        pos[n.id] = { x: col.x, y: y };
        prev = n.head;
        y += ROW;
      });
    });
    return { cols: cols, pos: pos, heads: heads, width: LEFT * 2 + cols.length * COL, height: TOP + maxH + 30 };
  }

  function edgePath(a, b) {
    var x1 = a.x + PILL_W / 2, x2 = b.x - PILL_W / 2;
    var dx = Math.max(30, (x2 - x1) * 0.5);
    return "M" + x1 + "," + a.y + " C" + (x1 + dx) + "," + a.y + " " + (x2 - dx) + "," + b.y + " " + x2 + "," + b.y;
  }
  function residPath(a, b) {
    // Residual links skip columns: arc above the straight line so they stay readable.
    var x1 = a.x + PILL_W / 2, x2 = b.x - PILL_W / 2;
    var lift = Math.min(60, 12 + (x2 - x1) * 0.06);
    var dx = (x2 - x1) * 0.35;
    return "M" + x1 + "," + a.y + " C" + (x1 + dx) + "," + (a.y - lift) + " " + (x2 - dx) + "," + (b.y - lift) + " " + x2 + "," + b.y;
  }
  function nodeLabel(n) {
    var short = { "attn.act_in": "in", "attn.q": "q", "attn.k": "k", "attn.v": "v", "attn.resid_delta": "out",
      "mlp.act_in": "in", "mlp.post_act": "n", "mlp.resid_delta": "out" }[n.site] || n.site;
    return short + " " + n.index;
  }

  function renderGraph(c) {
    circuitNodeMap(c);
    if (!c.nodes.length) {
      return el("div", { class: "graph-box" }, el("div", { class: "empty-graph" },
        el("div", { class: "finding" }, el("b", { text: "Empty circuit. " }),
          "No node was needed to reach the target loss: the model's dense bigram table (or the logits' bias) decides this task from the last token alone. This is a finding about the task, not an error.")));
    }
    var lay = layoutGraph(c);
    var svg = sv("svg", { class: "graph", width: lay.width, height: lay.height, viewBox: "0 0 " + lay.width + " " + lay.height,
      role: "img", "aria-label": "circuit graph of " + c.nodes.length + " nodes and " + c.edges.length + " edges" });
    // Layer bands and column headings.
    var byLayer = {};
    lay.cols.forEach(function (col) { (byLayer[col.layer] = byLayer[col.layer] || []).push(col); });
    Object.keys(byLayer).forEach(function (li) {
      var cs = byLayer[li];
      var x0 = cs[0].x - COL / 2 + 6, x1 = cs[cs.length - 1].x + COL / 2 - 6;
      svg.appendChild(sv("rect", { class: "layerband", x: x0, y: 4, width: x1 - x0, height: lay.height - 8, rx: 8 }));
      svg.appendChild(sv("text", { class: "layerhead", x: x0 + 8, y: 20, text: "layer " + li }));
    });
    lay.cols.forEach(function (col) {
      svg.appendChild(sv("text", { class: "colhead", x: col.x, y: 40, "text-anchor": "middle", text: col.title }));
    });
    lay.heads.forEach(function (g) {
      svg.appendChild(sv("rect", { class: "headband", x: g.x - PILL_W / 2 - 14, y: g.y0 - ROW / 2 + 2,
        width: PILL_W + 20, height: g.y1 - g.y0 + ROW - 4, rx: 6 }));
      svg.appendChild(sv("text", { class: "headlabel", x: g.x - PILL_W / 2 - 12, y: g.y0 - ROW / 2 + 11, text: "h" + g.head }));
    });
    var edgeLayer = sv("g", null), nodeLayer = sv("g", null);
    svg.appendChild(edgeLayer); svg.appendChild(nodeLayer);
    var maxW = 0;
    c.edges.forEach(function (e) { maxW = Math.max(maxW, Math.abs(e.weight || 0)); });
    var edgeEls = [], residEls = [];
    c._resid.forEach(function (r) {
      var a = lay.pos[r.src], b = lay.pos[r.dst];
      if (!a || !b) return;
      var p = sv("path", { class: "resid", d: residPath(a, b) });
      p.appendChild(sv("title", { text: "residual stream, channel " + c._byId[r.src].index + ": " + r.src + " \u2192 " + r.dst }));
      edgeLayer.appendChild(p);
      residEls.push({ el: p, src: r.src, dst: r.dst });
    });
    c.edges.forEach(function (e) {
      var a = lay.pos[e.src], b = lay.pos[e.dst];
      if (!a || !b) return;
      var w = Math.abs(e.weight || 0);
      var p = sv("path", { class: "edge " + ((e.weight || 0) >= 0 ? "pos" : "neg"), d: edgePath(a, b),
        "stroke-width": (0.8 + 4.2 * (maxW ? w / maxW : 0)).toFixed(2) });
      p.appendChild(sv("title", { text: e.src + " \u2192 " + e.dst + "  weight " + fmtSigned(e.weight, 4) }));
      edgeLayer.appendChild(p);
      edgeEls.push({ el: p, src: e.src, dst: e.dst });
    });
    var nodeEls = {};
    c.nodes.forEach(function (n) {
      var p = lay.pos[n.id];
      var g = sv("g", { class: "node", tabindex: 0, role: "button", "data-id": n.id,
        "aria-label": "node " + n.id + (isNum(n.ablation_delta) ? ", ablation effect " + fmtSigned(n.ablation_delta) : ""),
        transform: "translate(" + (p.x - PILL_W / 2) + "," + (p.y - PILL_H / 2) + ")" });
      g.appendChild(sv("title", { text: n.id + (isNum(n.ablation_delta) ? "\nablation \u0394loss " + fmtSigned(n.ablation_delta) : "") +
        (isNum(n.keep_rate) ? "\nkept in " + Math.round(100 * n.keep_rate) + "% of the stability seeds" : "") }));
      // with stability runs, a node's shade is its keep rate (faint: few seeds kept it)
      var rect = { width: PILL_W, height: PILL_H, rx: 10, fill: SITE_COLOURS[n.site] || "#666" };
      if (isNum(n.keep_rate)) rect["fill-opacity"] = (0.25 + 0.75 * n.keep_rate).toFixed(2);
      g.appendChild(sv("rect", rect));
      g.appendChild(sv("text", { x: PILL_W / 2, y: PILL_H / 2 + 3.8, "text-anchor": "middle", text: nodeLabel(n) }));
      g.addEventListener("click", function () { selectNode(n.id, true); });
      g.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); selectNode(n.id, true); }
      });
      g.addEventListener("mouseenter", function () { highlight(n.id); });
      g.addEventListener("focus", function () { highlight(n.id); });
      g.addEventListener("mouseleave", function () { highlight(state.node); });
      g.addEventListener("blur", function () { highlight(state.node); });
      nodeLayer.appendChild(g);
      nodeEls[n.id] = g;
    });
    view.svg = svg; view.nodeEls = nodeEls; view.edgeEls = edgeEls; view.residEls = residEls;
    return el("div", { class: "graph-box" }, svg);
  }

  function highlight(id) {
    if (!view.svg) return;
    var on = {};
    view.svg.classList.toggle("dim", !!id);
    function mark(list) {
      list.forEach(function (e) {
        var hit = !!id && (e.src === id || e.dst === id);
        e.el.classList.toggle("hl", hit);
        if (hit) { on[e.src] = true; on[e.dst] = true; }
      });
    }
    mark(view.edgeEls); mark(view.residEls);
    if (id) on[id] = true;
    Object.keys(view.nodeEls).forEach(function (k) {
      view.nodeEls[k].classList.toggle("hl", !!on[k]);
      view.nodeEls[k].classList.toggle("selected", k === state.node);
    });
  }

  function renderLegend() {
    function lineSample(cls, colour, dash) {
      return sv("svg", { width: 28, height: 10 }, sv("line", { x1: 1, y1: 5, x2: 27, y2: 5, stroke: colour,
        "stroke-width": cls === "thick" ? 4 : 2, "stroke-dasharray": dash || null }));
    }
    var items = [
      el("span", null, lineSample("thick", "#2563eb"), " positive weight"),
      el("span", null, lineSample("thick", "#d9480f"), " negative weight (width \u221d |weight|)"),
      el("span", null, lineSample("thin", "#8a94a6", "3 3"), " residual stream (same channel; not an edge)"),
    ];
    Object.keys(SITE_COLOURS).forEach(function (s) {
      items.push(el("span", null, el("span", { class: "swatch", "data-site": s }), " " + s));
    });
    items.push(el("span", null, "keys: ", el("span", { class: "kbd", text: "Tab" }), " move, ",
      el("span", { class: "kbd", text: "Enter" }), " open, ", el("span", { class: "kbd", text: "Esc" }), " close"));
    var box = el("div", { class: "legend", "aria-label": "legend" }, items);
    return box;
  }

  // ---- node card -------------------------------------------------------------------------
  function nodeScale(n, c) {
    // One colour scale per node across its snippets and prompts, so shades compare.
    var m = 0;
    function take(arr) { (arr || []).forEach(function (v) { if (isNum(v)) m = Math.max(m, Math.abs(v)); }); }
    if (n.snippets) ["top", "bottom"].forEach(function (k) { (n.snippets[k] || []).forEach(function (s) { take(s.acts); }); });
    (c.examples || []).forEach(function (ex) { take(ex.acts && ex.acts[n.id]); });
    return m;
  }
  function heatLine(tokens, acts, scale, focus, label, value) {
    var box = el("div", { class: "snippet" });
    if (isNum(value)) box.appendChild(el("span", { class: "val", text: fmt(value) }));
    if (label) box.appendChild(el("span", { class: "lbl", text: label }));
    tokens.forEach(function (t, i) {
      var v = acts ? acts[i] : null;
      var span = el("span", { class: "tok" + (i === focus ? " focus" : ""), title: JSON.stringify(t) + "  " + fmt(v) });
      span.textContent = showToken(String(t));
      span.style.backgroundColor = actColour(v, scale);
      box.appendChild(span);
    });
    return box;
  }
  function edgeList(c, idxs, dir) {
    if (!idxs || !idxs.length) return el("p", { class: "small muted", text: "none" });
    var sorted = idxs.slice().sort(function (a, b) { return Math.abs(c.edges[b].weight) - Math.abs(c.edges[a].weight); });
    return el("ul", { class: "edgelist" }, sorted.map(function (i) {
      var e = c.edges[i], other = dir === "in" ? e.src : e.dst;
      return el("li", null,
        el("button", { type: "button", text: (dir === "in" ? "\u2190 " : "\u2192 ") + other, onclick: function () { selectNode(other, true); } }),
        el("span", { class: "w " + (e.weight >= 0 ? "pos" : "neg"), text: fmtSigned(e.weight, 4) }));
    }));
  }
  function classBars(c, n) {
    var t = c.task || {};
    var m = n.class_mean;
    if (!m) return el("p", { class: "small muted", text: "not computed (no model run available when the report was made)" });
    var hi = Math.max(Math.abs(m.pos || 0), Math.abs(m.neg || 0), 1e-9);
    function row(label, v, colour) {
      var w = Math.abs(v) / hi * 50;
      var fill = el("div", { class: "fill" });
      fill.style.backgroundColor = colour;
      fill.style.left = (v >= 0 ? 50 : 50 - w) + "%";
      fill.style.width = w + "%";
      var zero = el("div", { class: "zero" });
      zero.style.left = "50%";
      return [el("span", { text: label }), el("div", { class: "bar" }, fill, zero), el("span", { class: "mono", text: fmtSigned(v) })];
    }
    return el("div", { class: "bars" },
      row("A: " + (t.class_pos || "positive"), m.pos, "#2563eb"),
      row("B: " + (t.class_neg || "negative"), m.neg, "#d9480f"));
  }
  function renderCard(c) {
    var card = el("aside", { class: "card", "aria-live": "polite", "aria-label": "node details" });
    view.card = card;
    fillCard(c);
    return card;
  }
  function fillCard(c) {
    var card = view.card;
    if (!card) return;
    clear(card);
    var byId = circuitNodeMap(c);
    var n = state.node && byId[state.node];
    if (!n) {
      card.appendChild(el("h3", { text: "Select a node" }));
      card.appendChild(el("p", { class: "small muted", text: "Click a node (or focus it with Tab and press Enter) to see what it does: its effect on the task, its activation on each class, corpus snippets that excite it most and least, and its edges." }));
      if (c.nodes.length) {
        var top = c.nodes.slice().sort(function (a, b) { return (b.ablation_delta || 0) - (a.ablation_delta || 0); }).slice(0, 8);
        card.appendChild(el("h4", { text: "most important nodes" }));
        card.appendChild(el("ul", { class: "edgelist" }, top.map(function (m) {
          return el("li", null, el("button", { type: "button", text: m.id, onclick: function () { selectNode(m.id, true); } }),
            el("span", { class: "w", text: fmtSigned(m.ablation_delta) }));
        })));
      }
      return;
    }
    var scale = nodeScale(n, c);
    var siteWords = SITE_WORDS[n.site] || n.site;
    card.appendChild(el("h3", { text: n.id }));
    card.appendChild(el("div", { class: "kv" },
      el("span", { class: "k", text: "what" }), el("span", { text: "layer " + n.layer + ", " + siteWords + " " + n.index + (isNum(n.head) ? " (head " + n.head + ")" : "") }),
      el("span", { class: "k", text: "ablation effect" }), el("span", { text: isNum(n.ablation_delta) ? fmtSigned(n.ablation_delta) + " nats on the circuit's task loss" : "\u2014" }),
      el("span", { class: "k", text: "mask logit \u03c4" }), el("span", { class: "mono", text: fmt(n.tau) })));
    card.appendChild(el("h4", { text: "mean activation at the last token" }));
    card.appendChild(classBars(c, n));
    card.appendChild(el("h4", { text: "incoming edges" }));
    card.appendChild(edgeList(c, c._in[n.id], "in"));
    card.appendChild(el("h4", { text: "outgoing edges" }));
    card.appendChild(edgeList(c, c._out[n.id], "out"));
    var links = c._resid.filter(function (r) { return r.src === n.id || r.dst === n.id; });
    if (links.length) {
      card.appendChild(el("h4", { text: "residual stream links (not edges)" }));
      card.appendChild(el("ul", { class: "edgelist" }, links.map(function (r) {
        var other = r.src === n.id ? r.dst : r.src;
        return el("li", null, el("button", { type: "button", text: (r.src === n.id ? "\u21e2 " : "\u21e0 ") + other, onclick: function () { selectNode(other, true); } }));
      })));
    }
    card.appendChild(el("h4", { text: "top-activating corpus snippets" }));
    appendSnippets(card, n.snippets && n.snippets.top, scale, "never positive in the sampled windows");
    card.appendChild(el("h4", { text: "bottom-activating corpus snippets" }));
    appendSnippets(card, n.snippets && n.snippets.bottom, scale, "never negative in the sampled windows");
    card.appendChild(el("h4", { text: "task prompts (activation per token)" }));
    if (!c.examples || !c.examples.length) card.appendChild(el("p", { class: "small muted", text: "not computed" }));
    else c.examples.forEach(function (ex) {
      var label = (ex.cls === "pos" ? "A" : "B") + " \u2192 " + JSON.stringify(ex.target);
      card.appendChild(heatLine(ex.tokens, ex.acts && ex.acts[n.id], scale, ex.tokens.length - 1, label, null));
    });
    if (scale) card.appendChild(el("p", { class: "small muted" }, "shade scale: |activation| up to " + fmt(scale) + "; blue positive, orange negative"));
  }
  function appendSnippets(card, list, scale, emptyText) {
    if (!list) { card.appendChild(el("p", { class: "small muted", text: "not computed" })); return; }
    if (!list.length) { card.appendChild(el("p", { class: "small muted", text: emptyText })); return; }
    list.forEach(function (s) { card.appendChild(heatLine(s.tokens, s.acts, scale, s.focus, null, s.value)); });
  }

  // ---- loss versus size curve ------------------------------------------------------------
  function renderCurve(c) {
    var pts = (c.curve || []).filter(function (p) { return isNum(p.nodes) && isNum(p.loss); })
      .slice().sort(function (a, b) { return a.nodes - b.nodes; });
    if (!pts.length) return el("p", { class: "small muted", text: "No bisection curve in this circuit file." });
    var W = 560, H = 300, ml = 56, mr = 18, mt = 16, mb = 44;
    var xs = pts.map(function (p) { return p.nodes; });
    var chosenN = c.counts && isNum(c.counts.nodes) ? c.counts.nodes : null;
    if (chosenN !== null) xs.push(chosenN);
    var xmin = Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
    // Sizes span decades and include 0 nodes: a log(1 + n) axis shows both ends.
    var logx = xmax > 20;
    function tx(v) { return logx ? Math.log10(1 + Math.max(v, 0)) : v; }
    function fx(v) {
      var lo = tx(xmin), hi = tx(xmax);
      return ml + (hi > lo ? (tx(v) - lo) / (hi - lo) : 0.5) * (W - ml - mr);
    }
    var ys = pts.map(function (p) { return p.loss; });
    if (isNum(c.target_loss)) ys.push(c.target_loss);
    var ymax = Math.max.apply(null, ys.concat([0.7])) * 1.05, ymin = 0;
    function fy(v) { return mt + (1 - (v - ymin) / (ymax - ymin)) * (H - mt - mb); }
    var svg = sv("svg", { class: "curve", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "held-out task loss against circuit size during bisection" });
    var yt = niceTicks(ymin, ymax, 5);
    yt.forEach(function (v) {
      svg.appendChild(sv("line", { class: "grid", x1: ml, x2: W - mr, y1: fy(v), y2: fy(v) }));
      svg.appendChild(sv("text", { class: "tick", x: ml - 6, y: fy(v) + 4, "text-anchor": "end", text: fmt(v, 2) }));
    });
    var xt = logx ? logTicks(xmin, xmax) : niceTicks(xmin, xmax, 6).filter(function (v) { return v === Math.round(v); });
    xt.forEach(function (v) {
      svg.appendChild(sv("line", { class: "grid", x1: fx(v), x2: fx(v), y1: mt, y2: H - mb }));
      svg.appendChild(sv("text", { class: "tick", x: fx(v), y: H - mb + 16, "text-anchor": "middle", text: fmtInt(v) }));
    });
    svg.appendChild(sv("line", { class: "axis", x1: ml, x2: W - mr, y1: H - mb, y2: H - mb }));
    svg.appendChild(sv("line", { class: "axis", x1: ml, x2: ml, y1: mt, y2: H - mb }));
    svg.appendChild(sv("text", { class: "tick", x: (ml + W - mr) / 2, y: H - 8, "text-anchor": "middle", text: "nodes kept" + (logx ? " (log scale)" : "") }));
    svg.appendChild(sv("text", { class: "tick", x: 14, y: (mt + H - mb) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (mt + H - mb) / 2 + ")", text: "task loss (nats)" }));
    var chance = Math.log(2);
    svg.appendChild(sv("line", { class: "chance", x1: ml, x2: W - mr, y1: fy(chance), y2: fy(chance) }));
    svg.appendChild(sv("text", { class: "tick", x: W - mr - 4, y: fy(chance) - 4, "text-anchor": "end", text: "chance ln 2" }));
    if (isNum(c.target_loss)) {
      svg.appendChild(sv("line", { class: "target", x1: ml, x2: W - mr, y1: fy(c.target_loss), y2: fy(c.target_loss) }));
      svg.appendChild(sv("text", { class: "tick", x: ml + 6, y: fy(c.target_loss) + 13, "text-anchor": "start", text: "target " + fmt(c.target_loss, 2) }));
    }
    var d = pts.map(function (p, i) { return (i ? "L" : "M") + fx(p.nodes).toFixed(1) + "," + fy(p.loss).toFixed(1); }).join(" ");
    svg.appendChild(sv("path", { class: "line", d: d }));
    pts.forEach(function (p) {
      var dot = sv("circle", { class: "pt", cx: fx(p.nodes), cy: fy(p.loss), r: 3.2 });
      dot.appendChild(sv("title", { text: fmtInt(p.nodes) + " nodes: loss " + fmt(p.loss) }));
      svg.appendChild(dot);
    });
    var L = c.losses || {};
    if (chosenN !== null && isNum(L.circuit)) {
      var ch = sv("circle", { class: "chosen", cx: fx(chosenN), cy: fy(Math.min(L.circuit, ymax)), r: 5.5 });
      ch.appendChild(sv("title", { text: "chosen circuit: " + fmtInt(chosenN) + " nodes, loss " + fmt(L.circuit) }));
      svg.appendChild(ch);
    }
    return el("div", { class: "curve-box" }, svg);
  }
  // ---- faithfulness curves ---------------------------------------------------------------
  var CURVE_STYLE = { mean: "", zero: "6 4", resample: "2 3" };
  function renderFaithfulness(f) {
    var W = 560, H = 280, ml = 56, mr = 18, mt = 16, mb = 44;
    var xmax = Math.max.apply(null, f.nodes);
    function fx(v) { return ml + (Math.log10(1 + v) / Math.log10(1 + xmax)) * (W - ml - mr); }
    var all = [];
    Object.keys(f.faithfulness).forEach(function (a) { f.faithfulness[a].forEach(function (v) { if (isNum(v)) all.push(v); }); });
    var ymin = Math.min(0, Math.min.apply(null, all.concat([0]))), ymax = Math.max(1.1, Math.max.apply(null, all.concat([1])));
    function fy(v) { return mt + (1 - (v - ymin) / (ymax - ymin)) * (H - mt - mb); }
    var svg = sv("svg", { class: "curve faithfulness", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": "faithfulness against nodes kept, under mean, zero and resample ablation" });
    niceTicks(ymin, ymax, 5).forEach(function (v) {
      svg.appendChild(sv("line", { class: "grid", x1: ml, x2: W - mr, y1: fy(v), y2: fy(v) }));
      svg.appendChild(sv("text", { class: "tick", x: ml - 6, y: fy(v) + 4, "text-anchor": "end", text: fmt(v, 1) }));
    });
    logTicks(0, xmax).forEach(function (v) {
      svg.appendChild(sv("line", { class: "grid", x1: fx(v), x2: fx(v), y1: mt, y2: H - mb }));
      svg.appendChild(sv("text", { class: "tick", x: fx(v), y: H - mb + 16, "text-anchor": "middle", text: fmtInt(v) }));
    });
    svg.appendChild(sv("line", { class: "axis", x1: ml, x2: W - mr, y1: H - mb, y2: H - mb }));
    svg.appendChild(sv("line", { class: "axis", x1: ml, x2: ml, y1: mt, y2: H - mb }));
    svg.appendChild(sv("text", { class: "tick", x: (ml + W - mr) / 2, y: H - 8, "text-anchor": "middle", text: "nodes kept, top by mask logit (log scale)" }));
    svg.appendChild(sv("text", { class: "tick", x: 14, y: (mt + H - mb) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (mt + H - mb) / 2 + ")", text: "faithfulness" }));
    svg.appendChild(sv("line", { class: "target", x1: ml, x2: W - mr, y1: fy(1), y2: fy(1) }));
    svg.appendChild(sv("line", { class: "chance", x1: fx(f.circuit_nodes), x2: fx(f.circuit_nodes), y1: mt, y2: H - mb }));
    svg.appendChild(sv("text", { class: "tick", x: fx(f.circuit_nodes) + 4, y: mt + 10, text: "circuit" }));
    var rows = [];
    Object.keys(f.faithfulness).forEach(function (a) {
      var pts = f.nodes.map(function (n, i) { return [n, f.faithfulness[a][i]]; }).filter(function (p) { return isNum(p[1]); });
      var d = pts.map(function (p, i) { return (i ? "L" : "M") + fx(p[0]).toFixed(1) + "," + fy(p[1]).toFixed(1); }).join(" ");
      var path = sv("path", { class: "line", d: d, "data-ablation": a });
      if (CURVE_STYLE[a]) path.setAttribute("stroke-dasharray", CURVE_STYLE[a]);
      path.appendChild(sv("title", { text: a + " ablation" }));
      svg.appendChild(path);
      rows.push(el("tr", null, el("td", { text: a + (CURVE_STYLE[a] ? " (dashed " + CURVE_STYLE[a] + ")" : " (solid)") }),
        el("td", { text: fmt(f.area[a], 3) }), el("td", { text: fmt(f.deviation[a], 3) })));
    });
    var table = el("table", { class: "checks" },
      el("thead", null, el("tr", null, el("th", { text: "ablation" }),
        el("th", { text: "area under the curve (CPR, higher = more faithful)", title: "MIB's circuit performance ratio: the area under faithfulness over the kept fraction of nodes, 0 to 1" }),
        el("th", { text: "area off 1 (CMD, lower = closer to the model)", title: "MIB's circuit-model difference: the area between |1 - faithfulness| and 0" }))),
      el("tbody", null, rows));
    return el("div", { class: "curve-box" }, svg,
      el("p", { class: "small muted", text: "Faithfulness = (L(nothing kept) \u2212 L(k)) / (L(nothing kept) \u2212 L(full model)): 1 means the kept nodes do what the whole model does. Above 1: they beat the whole model (the ablation background helps them)." }),
      table);
  }
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    if (err >= 5) step *= 5; else if (err >= 2) step *= 2;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v / step) * step);
    return out;
  }
  function logTicks(lo, hi) {
    var out = lo <= 0 ? [0] : [];
    for (var e = 0; Math.pow(10, e) <= hi * 1.0001; e++) {
      [1, 2, 5].forEach(function (m) { var v = m * Math.pow(10, e); if (v >= lo && v <= hi) out.push(v); });
    }
    return out;
  }

  // ---- steering (sparsecircuits bridge steer) ---------------------------------------------
  function renderSteering(s) {
    var cv = s.curve || {};
    var rows = (cv.strengths || []).map(function (v, i) {
      return el("tr", null, el("td", { text: fmt(v, 2) }), el("td", { text: fmt(cv.prob_other[i]) }),
        el("td", { text: fmt(cv.control_mean[i]) + " \u00b1 " + fmt(cv.control_std[i]) }));
    });
    return el("div", { class: "steering" },
      el("p", { text: "Node " + s.node + ": its change from a " + s.steer_from + " prompt to its pair's value, pushed into the dense residual at " +
        s.location + " (" + s.n_pairs + " pairs, rescale \u00d7" + fmt(s.rescale_factor, 2) + "). The dense model's probability of the " +
        s.steer_towards + " answer; on those prompts themselves it is " + fmt(s.dense_prob_other_on_b) + "." }),
      el("table", null, el("thead", null, el("tr", null, el("th", { text: "strength" }), el("th", { text: "P(other answer)" }),
        el("th", { text: "random direction, same norm (" + s.controls + " seeds)" }))), el("tbody", null, rows)));
  }

  // ---- page ------------------------------------------------------------------------------
  function renderCircuit() {
    var c = DATA.circuits[state.circuit];
    var sec = el("section", { class: "circuit", id: "circuit-view" });
    if (!c) return sec;
    append(sec, renderHeader(c));
    sec.appendChild(el("h3", { text: "Graph" }));
    sec.appendChild(renderLegend());
    var graph = renderGraph(c);
    sec.appendChild(el("div", { class: "workspace" }, graph, renderCard(c)));
    highlight(state.node);
    sec.appendChild(el("h3", { text: "Task loss versus circuit size (bisection, held-out)" }));
    sec.appendChild(renderCurve(c));
    if (c.faithfulness) {
      sec.appendChild(el("h3", { text: "Faithfulness along the pruning order (held-out)" }));
      sec.appendChild(renderFaithfulness(c.faithfulness));
    }
    if (c.steering && c.steering.length) {
      sec.appendChild(el("h3", { text: "Steering the dense model through a bridge (bridge steer)" }));
      c.steering.forEach(function (s) { sec.appendChild(renderSteering(s)); });
    }
    sec.appendChild(el("details", null, el("summary", { text: "pruning hyperparameters and file metadata" }),
      el("pre", { class: "json", text: JSON.stringify({ hyperparameters: c.hyperparameters, seed: c.seed, created: c.created,
        time_seconds: c.time_seconds, model: c.model, task: c.task }, null, 2) })));
    return sec;
  }
  function render() {
    clear(app);
    view = {};
    app.appendChild(el("header", { class: "top" },
      el("h1", { text: DATA.title || "sparsecircuits report" }),
      el("div", { class: "sub", text: DATA.circuits.length + " circuit" + (DATA.circuits.length === 1 ? "" : "s") +
        " \u00b7 generated " + (DATA.generated || "") + " \u00b7 sparsecircuits " + (DATA.version || "") })));
    var main = el("main", null);
    if (!DATA.circuits.length) main.appendChild(el("p", { text: "This report holds no circuits." }));
    else { main.appendChild(renderIndex()); main.appendChild(renderCircuit()); }
    app.appendChild(main);
    app.appendChild(el("footer", { text: "Nodes: channels of the eight node sites of each layer. Edges: nonzero weights between kept nodes (METHOD \u00a76). Self-contained page; nothing is fetched." }));
    // Swatches are coloured here (through the CSSOM) rather than with inline style markup.
    Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-site]"), function (s) {
      s.style.backgroundColor = SITE_COLOURS[s.getAttribute("data-site")];
    });
    Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-cls]"), function (s) {
      s.style.backgroundColor = s.getAttribute("data-cls") === "pos" ? "#2563eb" : "#d9480f";
    });
  }
  function updateHash() {
    var h = "#c=" + state.circuit + (state.node ? "&n=" + encodeURIComponent(state.node) : "");
    if (location.hash !== h && history.replaceState) {
      try { history.replaceState(null, "", h); } catch (e) { /* some file:// contexts refuse; harmless */ }
    }
  }
  function selectCircuit(i, node, scroll) {
    state.circuit = i; state.node = node || null;
    render(); updateHash();
    if (scroll) { var v = document.getElementById("circuit-view"); if (v && v.scrollIntoView) v.scrollIntoView({ block: "start" }); }
  }
  function selectNode(id, focus) {
    var c = DATA.circuits[state.circuit];
    if (id && !circuitNodeMap(c)[id]) return;
    state.node = id;
    fillCard(c); highlight(id); updateHash();
    if (focus && id && view.nodeEls[id]) {
      view.nodeEls[id].focus({ preventScroll: false });
    }
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && state.node) { selectNode(null, false); }
  });
  function fromHash() {
    var m = /c=(\d+)/.exec(location.hash || ""), n = /n=([^&]+)/.exec(location.hash || "");
    var ci = m ? Math.min(Number(m[1]), Math.max(0, DATA.circuits.length - 1)) : 0;
    var node = null;
    if (n) { try { node = decodeURIComponent(n[1]); } catch (e) { node = null; } }
    state.circuit = ci;
    var c = DATA.circuits[ci];
    state.node = c && node && circuitNodeMap(c)[node] ? node : null;
  }
  fromHash();
  render();
  if (state.node) fillCard(DATA.circuits[state.circuit]);
})();
