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
  // Each colour means one thing on the whole page: blue = class A (or a push toward A), orange =
  // class B (or toward B), teal / purple = a positive / negative value (weights, activations).
  var COLOURS = { a: "#2563eb", b: "#d9480f", posWeight: "#0f766e", negWeight: "#7e22ce" };
  // Terms used on the page, explained where they appear (tooltips) and in the glossary.
  var GLOSSARY = {
    "node": "One channel of one of the eight node sites of a layer: a residual read (attn in / mlp in), a query, key or value channel, an MLP neuron, or a residual write (attn out / mlp out).",
    "edge": "A nonzero weight between two kept nodes (METHOD section 6). Width is proportional to |weight|; teal positive, purple negative.",
    "residual link": "A residual write and a later read of the same residual channel are joined by the identity: a dashed link, not an edge (no weight).",
    "token embedding": "Input nodes: residual channel c of the token embedding, what each token writes there before layer 0; linked to the circuit's reads of channel c.",
    "logits": "Output nodes: the logits of the task's two answer tokens A and B. Edges into them: final-norm gain times the unembedding row, for each kept residual write.",
    "direct A\u2212B": "A node's direct contribution to logit(A) \u2212 logit(B) at the last token: its own write into the residual, taken through the final RMSNorm (linearised at that prompt) to the unembedding difference W_U[A] \u2212 W_U[B]. Residual writes: activation \u00d7 that direction; MLP neurons and value channels: their write through c_proj. Reads, queries and keys write nothing directly. Without a chosen prompt: the mean on the traced A prompts minus the mean on the B prompts. Full model, nothing ablated.",
    "ablation effect": "How much the circuit's held-out task loss rises (nats) when this one node is also ablated: the ranking the node budget uses.",
    "mask logit \u03c4": "The node's learned mask parameter from pruning: the node is kept when \u03c4 > 0; larger means the optimiser was surer.",
    "node budget": "Show only the N most important nodes (by ablation effect, else |direct A\u2212B|, else mask logit); inputs and logits follow them. Pinned and searched nodes stay.",
    "edge threshold": "Hide edges weaker than this share of the strongest |weight| in the circuit (logit edges: of the strongest logit weight).",
    "full-model loss": "The task loss (nats, cross-entropy between A and B) of the whole model on held-out prompt pairs.",
    "circuit loss": "The task loss with every node outside the circuit ablated (replaced by its mean activation, or as the ablation field says).",
    "circuit loss, logit-calibrated": "The circuit loss after fitting one scale and bias of the A\u2212B logit difference on training pairs (METHOD: calibration), reported beside the raw loss.",
    "target": "The held-out task loss the circuit must reach; pruning bisects to the smallest circuit at or under it.",
    "ablation": "What a removed node becomes: mean (its mean corpus activation), zero, resample (a random corpus position's value), stochastic or mixture.",
    "attention pattern": "Where a kept head looks from the last token of a traced prompt: shade \u221d attention weight on each earlier token; 'sink' is the weight on the attention sink (reads nothing).",
    "trace": "The full model on one held-out prompt pair: its logit(A) \u2212 logit(B) and each node's activation and direct A\u2212B at the last token.",
    "faithfulness": "(L(nothing kept) \u2212 L(k)) / (L(nothing kept) \u2212 L(full model)): 1 means the kept nodes do what the whole model does.",
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
    return v > 0 ? "rgba(15, 118, 110, " + (0.08 + 0.72 * a).toFixed(3) + ")"
                 : "rgba(126, 34, 206, " + (0.08 + 0.72 * a).toFixed(3) + ")";
  }
  function showToken(t) {
    // Make whitespace visible without changing the text's meaning.
    return t.replace(/\n/g, "\u21b5\n").replace(/\t/g, "\u2192   ");
  }

  // ---- state ---------------------------------------------------------------------------
  var state = { circuit: 0, node: null, prompt: null, graph: null };
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
  function stat(k, v, term) {
    return el("div", { class: "stat", title: GLOSSARY[term || k] || null },
      el("div", { class: "k", text: k }), el("div", { class: "v", text: v }));
  }
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
      isNum(L.circuit_calibrated) ? stat("circuit loss, logit-calibrated", fmt(L.circuit_calibrated)) : null,
      stat("target", fmt(c.target_loss, 2)),
      stat("nodes", fmtInt(counts.nodes !== undefined ? counts.nodes : c.nodes.length) +
        (isNum(counts.model_nodes) ? " / " + fmtInt(counts.model_nodes) : ""), "node"),
      stat("edges", fmtInt(counts.edges !== undefined ? counts.edges : c.edges.length), "edge"),
      stat("ablation", String(c.ablation || "\u2014")),
      isNum(L.circuit_accuracy) ? stat("circuit accuracy", fmt(L.circuit_accuracy * 100, 1) + "%") : null));
    if (isNum(L.circuit) && isNum(L.full_model) && L.circuit < L.full_model) {
      parts.push(el("div", { class: "note beats", text: "The circuit's loss (" + fmt(L.circuit) + ") is lower than the full model's (" +
        fmt(L.full_model) + "): with the rest " + (c.ablation || "mean") + "-ablated the circuit does the task better than the whole model. " +
        "The removed nodes were hurting this task on average, or the ablation constant helps the circuit (Drori 2026); the resample checks below tell which." }));
    }
    parts.push(el("p", { class: "small muted" }, "file ", el("code", { text: c.file }), " \u00b7 model run ",
      el("code", { text: (c.model && c.model.run) || "?" }), " \u00b7 weights ",
      el("code", { text: ((c.model && c.model.weights_sha256) || "?").slice(0, 12) })));
    (c.notes || []).forEach(function (n) { parts.push(el("div", { class: "note", text: n })); });
    parts.push(renderValidation(c));
    return parts;
  }
  // A measured value as text: integers as integers, losses to 4 places, no raw null or JSON.
  function fmtValue(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (isNum(v)) return Math.round(v) === v && Math.abs(v) >= 1 ? fmtInt(v) : fmt(v, 4);
    if (Array.isArray(v)) return v.map(function (x) { return fmtValue(x) || "\u2014"; }).join(", ");
    if (typeof v === "object") return null;  // nested tables are drawn on their own
    return String(v);
  }
  var VALUE_WORDS = {
    loss_mean: "loss, rest mean-ablated", loss_resample: "loss, rest resample-ablated", loss: "loss",
    full_model: "full-model loss", n: "draws", fraction: "share of other nodes resampled", mean: "mean loss",
    std: "std of the loss", worst: "worst loss", best: "best loss", circuit_loss: "circuit loss (before)",
    loss_increase: "loss increase", nodes: "nodes", edges: "edges", edge_ratio: "edges / real circuit's",
    node_ratio: "nodes / real circuit's", achieved_loss: "best loss reached", reason: "why not", kind: "control",
    reached_target: "reached the target",
  };
  function kvTable(obj, skip) {
    var rows = Object.keys(obj).filter(function (k) { return !skip[k] && fmtValue(obj[k]) !== null; }).map(function (k) {
      return el("tr", null, el("th", { text: VALUE_WORDS[k] || k.replace(/_/g, " ") }), el("td", { class: isNum(obj[k]) ? "num" : "text", text: fmtValue(obj[k]) }));
    });
    return rows.length ? el("table", { class: "kv-table" }, el("tbody", null, rows)) : el("span", { class: "muted", text: "\u2014" });
  }
  function renderValidation(c) {
    var v = c.validation;
    if (!v) return el("p", { class: "small" }, "Validation: ", verdictBadge(c),
      el("span", { class: "muted", text: " (run `sparsecircuits validate` on the circuit file)" }));
    var checks = v.checks || {};
    var skip = { passed: true, threshold: true, summary: true, seconds: true, per_node: true };
    var extra = [];
    var rows = Object.keys(checks).map(function (k) {
      var ch = checks[k] || {};
      var passed = ch.passed === true ? el("span", { class: "badge pass", text: "pass" })
        : ch.passed === false ? el("span", { class: "badge fail", text: "fail" })
        : el("span", { class: "badge none", text: "n/a" });
      if (ch.per_node && typeof ch.per_node === "object") extra.push(binarisationTable(k, ch.per_node));
      return el("tr", null, el("td", null, el("code", { text: k })), el("td", null, passed),
        el("td", null, kvTable(ch, skip)),
        el("td", { class: "rule", text: ch.threshold !== undefined ? String(ch.threshold) : "" }),
        el("td", { class: "num muted", text: isNum(ch.seconds) && ch.seconds > 0 ? fmt(ch.seconds, 1) + " s" : "" }));
    });
    var cfg = v.config && typeof v.config === "object" ? v.config : null;
    return el("div", { class: "validation" }, el("p", { class: "small" }, "Validation: ", verdictBadge(c),
      el("span", { class: "muted", text: " (each check's rule is its threshold column; docs/validation.md)" })),
      rows.length ? el("table", { class: "checks validation-table" },
        el("thead", null, el("tr", null, el("th", { text: "check" }), el("th", { text: "verdict" }), el("th", { text: "measured" }),
          el("th", { text: "rule (pass if)" }), el("th", { text: "time" }))),
        el("tbody", null, rows)) : null,
      extra,
      cfg ? el("details", null, el("summary", { text: "validation settings" }), kvTable(cfg, {})) : null);
  }
  function binarisationTable(name, perNode) {
    var ids = Object.keys(perNode);
    var rows = ids.map(function (id) {
      var r = perNode[id] || [];
      return el("tr", null, el("td", null, el("button", { type: "button", class: "linkish mono", text: id,
        onclick: function () { focusNode(DATA.circuits[state.circuit], id); } })),
        el("td", { class: "num", text: fmt(r[0], 2) }), el("td", { class: "num", text: fmt(r[1], 4) }),
        el("td", { class: "num", text: fmt(r[2], 4) }), el("td", { class: "num", text: fmt(r[3], 4) }));
    });
    return el("details", { class: "binarisation" }, el("summary", { text: name + ": the step function chosen for each of " + ids.length + " nodes" }),
      el("table", { class: "checks" }, el("thead", null, el("tr", null, el("th", { text: "node" }),
        el("th", { class: "num", text: "share below", title: "fraction of the fitting activations under the threshold" }),
        el("th", { class: "num", text: "threshold" }), el("th", { class: "num", text: "low level" }), el("th", { class: "num", text: "high level" }))),
        el("tbody", null, rows)));
  }

  // ---- graph -----------------------------------------------------------------------------
  var PILL_W = 60, PILL_H = 20, ROW = 27, COL = 122, TOP = 54, LEFT = 20, HEAD_GAP = 10;
  var DEFAULT_BUDGET = 40, DEFAULT_EDGES = 150;

  // Importance of a node for the budget: its ablation effect, else its direct logit share,
  // else its mask logit (every circuit file has one of them).
  function importance(n) {
    if (isNum(n.ablation_delta)) return Math.abs(n.ablation_delta);
    if (isNum(n.direct_sep)) return Math.abs(n.direct_sep);
    return isNum(n.tau) ? n.tau : 0;
  }
  function ranked(c) {
    if (!c._ranked) c._ranked = c.nodes.slice().sort(function (a, b) { return importance(b) - importance(a) || (a.id < b.id ? -1 : 1); });
    return c._ranked;
  }
  // Per-node direct contribution to logit(A) - logit(B): under the chosen prompt, or (no prompt
  // chosen) the mean on the traced A prompts minus the mean on the B prompts ("separation").
  function attachTrace(c) {
    if (c._traced || !c.trace) return;
    c._traced = true;
    var ps = c.trace.prompts || [];
    c.nodes.forEach(function (n) {
      var sa = 0, na = 0, sb = 0, nb = 0;
      ps.forEach(function (p) {
        var v = p.direct[n.id];
        if (!isNum(v)) return;
        if (p.cls === "pos") { sa += v; na++; } else { sb += v; nb++; }
      });
      if (na && nb) n.direct_sep = sa / na - sb / nb;
      if (na) n.direct_a = sa / na;
      if (nb) n.direct_b = sb / nb;
    });
  }
  function directOf(c, n) {
    if (!c.trace) return null;
    if (state.prompt !== null && c.trace.prompts[state.prompt]) {
      var v = c.trace.prompts[state.prompt].direct[n.id];
      return isNum(v) ? v : null;
    }
    return isNum(n.direct_sep) ? n.direct_sep : null;
  }
  function directScale(c) {
    var m = 0;
    c.nodes.forEach(function (n) { var v = directOf(c, n); if (isNum(v)) m = Math.max(m, Math.abs(v)); });
    return m;
  }
  function abColour(v, scale, alphaMin) {
    if (!isNum(v) || !scale) return null;
    var a = Math.min(1, Math.abs(v) / scale);
    return (v >= 0 ? "rgba(37, 99, 235, " : "rgba(217, 72, 15, ") + ((alphaMin || 0.2) + (1 - (alphaMin || 0.2)) * a).toFixed(3) + ")";
  }

  // The nodes and edges drawn: the top `budget` nodes by importance plus pinned ones, the
  // embedding inputs they read, the two logits, and the edges at or over the threshold.
  function visibleGraph(c) {
    var g = state.graph;
    var keep = {};
    ranked(c).slice(0, g.budget).forEach(function (n) { keep[n.id] = true; });
    Object.keys(g.pinned).forEach(function (id) { if (c._byId[id]) keep[id] = true; });
    if (state.node && c._byId[state.node]) keep[state.node] = true;
    var nodes = c.nodes.filter(function (n) { return keep[n.id]; });
    var inputs = {}, inNodes = [];
    nodes.forEach(function (n) {
      if (/act_in$/.test(n.site) && !inputs[n.index]) {
        inputs[n.index] = true;
        inNodes.push({ id: "emb:" + n.index, virtual: "input", site: "input", layer: -1, index: n.index });
      }
    });
    inNodes.sort(function (a, b) { return a.index - b.index; });
    var logits = [{ id: "logit:A", virtual: "logit", site: "logit", layer: Infinity, index: 0 },
      { id: "logit:B", virtual: "logit", site: "logit", layer: Infinity, index: 1 }];
    var maxW = maxWeight(c);
    var cut = g.threshold * maxW;
    var edges = [];
    c.edges.forEach(function (e, i) {
      if (keep[e.src] && keep[e.dst] && Math.abs(e.weight || 0) >= cut) edges.push({ src: e.src, dst: e.dst, weight: e.weight, i: i });
    });
    var lw = (c.trace && c.trace.logit_weights) || {};
    var maxL = 0;
    Object.keys(lw).forEach(function (k) { maxL = Math.max(maxL, Math.abs(lw[k][0]), Math.abs(lw[k][1])); });
    var logitEdges = [];
    nodes.forEach(function (n) {
      if (!/resid_delta$/.test(n.site)) return;
      ["A", "B"].forEach(function (ab, j) {
        var w = lw[n.id] ? lw[n.id][j] : null;
        if (isNum(w) && Math.abs(w) < g.threshold * maxL) return;
        logitEdges.push({ src: n.id, dst: "logit:" + ab, weight: w, scaleMax: maxL });
      });
    });
    var resid = c._resid.filter(function (r) { return keep[r.src] && keep[r.dst]; });
    inNodes.forEach(function (inp) {
      nodes.forEach(function (n) { if (/act_in$/.test(n.site) && n.index === inp.index) resid.push({ src: inp.id, dst: n.id }); });
    });
    return { nodes: nodes, inputs: inNodes, logits: logits, edges: edges, logitEdges: logitEdges, resid: resid, maxW: maxW };
  }
  function maxWeight(c) {
    if (c._maxW === undefined) { c._maxW = 0; c.edges.forEach(function (e) { c._maxW = Math.max(c._maxW, Math.abs(e.weight || 0)); }); }
    return c._maxW;
  }
  function defaultGraphState(c) {
    var budget = Math.min(DEFAULT_BUDGET, c.nodes.length);
    var keep = {};
    ranked(c).slice(0, budget).forEach(function (n) { keep[n.id] = true; });
    var ws = c.edges.filter(function (e) { return keep[e.src] && keep[e.dst]; })
      .map(function (e) { return Math.abs(e.weight || 0); }).sort(function (a, b) { return b - a; });
    var maxW = maxWeight(c);
    var threshold = ws.length > DEFAULT_EDGES && maxW ? ws[DEFAULT_EDGES - 1] / maxW : 0;
    return { budget: budget, threshold: threshold, pinned: {}, vb: null };
  }

  function layoutGraph(c, vis) {
    // Columns in forward order: inputs, then layer by layer, then the logits.
    var layers = {};
    vis.nodes.forEach(function (n) {
      var L = layers[n.layer] = layers[n.layer] || {};
      (L[columnOf(n)] = L[columnOf(n)] || []).push(n);
    });
    var layerIds = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; });
    var cols = [];
    if (vis.inputs.length) cols.push({ layer: "in", key: "input", title: "token embedding", nodes: vis.inputs });
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
    cols.push({ layer: "out", key: "logit", title: "logits", nodes: vis.logits });
    var heights = cols.map(function (col) {
      var h = col.nodes.length * ROW, prev = null;
      col.nodes.forEach(function (n) {
        if (col.key === "attn.qkv" && prev !== null && n.head !== prev) h += HEAD_GAP;
        prev = n.head;
      });
      return h;
    });
    var maxH = Math.max.apply(null, heights.concat([ROW]));
    var pos = {}, heads = [];
    cols.forEach(function (col, ci) {
      col.x = LEFT + ci * COL + PILL_W / 2 + 10;
      var y = TOP + (maxH - heights[ci]) / 2 + ROW / 2, prev = null, group = null;
      col.nodes.forEach(function (n) {
        if (col.key === "attn.qkv" && prev !== null && n.head !== prev) y += HEAD_GAP;
        if (col.key === "attn.qkv" && (group === null || n.head !== prev)) {
          group = { x: col.x, y0: y, y1: y, head: n.head, layer: n.layer };
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
  function nodeLabel(n, c) {
    if (n.virtual === "input") return "emb " + n.index;
    if (n.virtual === "logit") {
      var t = c && c.trace ? (n.index === 0 ? c.trace.target_a : c.trace.target_b) : null;
      return (n.index === 0 ? "A" : "B") + (t !== null ? " " + JSON.stringify(t).slice(0, 6) : "");
    }
    var short = { "attn.act_in": "in", "attn.q": "q", "attn.k": "k", "attn.v": "v", "attn.resid_delta": "out",
      "mlp.act_in": "in", "mlp.post_act": "n", "mlp.resid_delta": "out" }[n.site] || n.site;
    return short + " " + n.index;
  }
  function virtualNode(c, id) {
    var m = /^emb:(\d+)$/.exec(id);
    if (m) return { id: id, virtual: "input", site: "input", layer: -1, index: Number(m[1]) };
    if (id === "logit:A" || id === "logit:B") return { id: id, virtual: "logit", site: "logit", layer: Infinity, index: id === "logit:A" ? 0 : 1 };
    return null;
  }
  function nodeById(c, id) { return circuitNodeMap(c)[id] || virtualNode(c, id); }

  function renderGraph(c) {
    circuitNodeMap(c);
    attachTrace(c);
    if (!c.nodes.length) {
      view.graphBox = null;
      return el("div", { class: "graph-box" }, el("div", { class: "empty-graph" },
        el("div", { class: "finding" }, el("b", { text: "Empty circuit. " }),
          "No node was needed to reach the target loss: the model's dense bigram table (or the logits' bias) decides this task from the last token alone. This is a finding about the task, not an error.")));
    }
    if (!state.graph || state.graph.circuit !== state.circuit) {
      state.graph = defaultGraphState(c);
      state.graph.circuit = state.circuit;
    }
    var g = state.graph;
    var counts = el("span", { class: "counts", id: "graph-counts" });
    var budget = el("input", { type: "range", id: "node-budget", min: 1, max: c.nodes.length, step: 1, value: g.budget,
      "aria-label": "node budget: the most important nodes shown" });
    var budgetOut = el("span", { class: "mono", text: String(g.budget) });
    budget.addEventListener("input", function () { g.budget = Number(budget.value); budgetOut.textContent = budget.value; drawGraph(c, false); });
    var thr = el("input", { type: "range", id: "edge-threshold", min: 0, max: 100, step: 0.5, value: (100 * g.threshold).toFixed(1),
      "aria-label": "edge threshold: hide edges weaker than this share of the strongest" });
    var thrOut = el("span", { class: "mono", text: (100 * g.threshold).toFixed(1) + "%" });
    thr.addEventListener("input", function () { g.threshold = Number(thr.value) / 100; thrOut.textContent = Number(thr.value).toFixed(1) + "%"; drawGraph(c, false); });
    var ids = el("datalist", { id: "node-ids" }, c.nodes.map(function (n) { return el("option", { value: n.id }); }));
    var search = el("input", { type: "search", id: "node-search", list: "node-ids", placeholder: "node id, e.g. " + c.nodes[0].id,
      "aria-label": "find a node by id", size: 22 });
    var searchMsg = el("span", { class: "small muted", id: "search-msg" });
    function doSearch() {
      var q = search.value.trim();
      if (!q) return;
      var hit = c._byId[q] || c.nodes.filter(function (n) { return n.id.indexOf(q) === 0; })[0];
      if (!hit) { searchMsg.textContent = "no node " + q + " in this circuit"; return; }
      searchMsg.textContent = "";
      focusNode(c, hit.id);
    }
    search.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); doSearch(); } });
    search.addEventListener("change", doSearch);
    function button(text, label, fn) { return el("button", { type: "button", class: "tool", text: text, "aria-label": label, title: label, onclick: fn }); }
    var toolbar = el("div", { class: "toolbar" },
      el("label", { class: "tool-group", title: GLOSSARY["node budget"] }, "nodes ", budget, budgetOut),
      el("label", { class: "tool-group", title: GLOSSARY["edge threshold"] }, "edge threshold ", thr, thrOut),
      el("span", { class: "tool-group" }, search, ids, button("find", "find the node and centre it", doSearch), searchMsg),
      el("span", { class: "tool-group" }, button("+", "zoom in", function () { zoomBy(0.8); }), button("\u2212", "zoom out", function () { zoomBy(1.25); }),
        button("fit", "fit the whole graph in view", function () { fitView(); }), button("all nodes", "show every node (no budget)", function () {
          g.budget = c.nodes.length; budget.value = g.budget; budgetOut.textContent = String(g.budget); drawGraph(c, true); })),
      counts);
    var svg = sv("svg", { class: "graph", id: "graph-svg", role: "img", preserveAspectRatio: "xMidYMid meet" });
    var box = el("div", { class: "graph-box" }, svg);
    view.graphBox = box; view.svg = svg; view.counts = counts;
    enablePanZoom(svg);
    drawGraph(c, true);
    return el("div", { class: "graph-panel" }, toolbar, box);
  }

  function drawGraph(c, fit) {
    var svg = view.svg;
    if (!svg) return;
    clear(svg);
    var vis = visibleGraph(c);
    var lay = layoutGraph(c, vis);
    view.lay = lay;
    svg.setAttribute("aria-label", "circuit graph: " + vis.nodes.length + " of " + c.nodes.length + " nodes, " + vis.edges.length + " of " + c.edges.length + " edges");
    var byLayer = {};
    lay.cols.forEach(function (col) { (byLayer[col.layer] = byLayer[col.layer] || []).push(col); });
    Object.keys(byLayer).forEach(function (li) {
      var cs = byLayer[li];
      var x0 = cs[0].x - COL / 2 + 6, x1 = cs[cs.length - 1].x + COL / 2 - 6;
      svg.appendChild(sv("rect", { class: "layerband", x: x0, y: 4, width: x1 - x0, height: lay.height - 8, rx: 8 }));
      svg.appendChild(sv("text", { class: "layerhead", x: x0 + 8, y: 20, text: li === "in" ? "input" : li === "out" ? "output" : "layer " + li }));
    });
    lay.cols.forEach(function (col) {
      svg.appendChild(sv("text", { class: "colhead", x: col.x, y: 40, "text-anchor": "middle", text: col.title }));
    });
    lay.heads.forEach(function (h) {
      var band = sv("rect", { class: "headband", x: h.x - PILL_W / 2 - 14, y: h.y0 - ROW / 2 + 2,
        width: PILL_W + 20, height: h.y1 - h.y0 + ROW - 4, rx: 6 });
      svg.appendChild(band);
      svg.appendChild(sv("text", { class: "headlabel", x: h.x - PILL_W / 2 - 12, y: h.y0 - ROW / 2 + 11, text: "h" + h.head }));
    });
    var edgeLayer = sv("g", null), nodeLayer = sv("g", null);
    svg.appendChild(edgeLayer); svg.appendChild(nodeLayer);
    var edgeEls = [], residEls = [];
    vis.resid.forEach(function (r) {
      var a = lay.pos[r.src], b = lay.pos[r.dst];
      if (!a || !b) return;
      var p = sv("path", { class: "resid", d: residPath(a, b) });
      var what = /^emb:/.test(r.src) ? "token embedding, residual channel " : "residual stream, channel ";
      p.appendChild(sv("title", { text: what + nodeById(c, r.src).index + ": " + r.src + " \u2192 " + r.dst }));
      edgeLayer.appendChild(p);
      residEls.push({ el: p, src: r.src, dst: r.dst });
    });
    function drawEdge(e, maxW, kind) {
      var a = lay.pos[e.src], b = lay.pos[e.dst];
      if (!a || !b) return;
      var w = Math.abs(e.weight || 0);
      var p = sv("path", { class: kind + " " + (isNum(e.weight) ? (e.weight >= 0 ? "pos" : "neg") : "unk"), d: edgePath(a, b),
        "stroke-width": (0.8 + 4.2 * (maxW ? w / maxW : 0)).toFixed(2) });
      p.appendChild(sv("title", { text: e.src + " \u2192 " + e.dst + (isNum(e.weight) ? "  weight " + fmtSigned(e.weight, 4) : "") +
        (kind === "logit-edge" ? " (final norm gain \u00d7 unembedding)" : "") }));
      edgeLayer.appendChild(p);
      edgeEls.push({ el: p, src: e.src, dst: e.dst });
    }
    vis.edges.forEach(function (e) { drawEdge(e, vis.maxW, "edge"); });
    vis.logitEdges.forEach(function (e) { drawEdge(e, e.scaleMax, "edge logit-edge"); });
    var nodeEls = {};
    var scale = directScale(c);
    vis.inputs.concat(vis.nodes, vis.logits).forEach(function (n) {
      var p = lay.pos[n.id];
      if (!p) return;
      var dv = n.virtual ? null : directOf(c, n);
      var g = sv("g", { class: "node" + (n.virtual ? " virtual " + n.virtual : "") + (isNum(dv) ? " direct" : ""), tabindex: 0, role: "button", "data-id": n.id,
        "aria-label": "node " + n.id + (isNum(n.ablation_delta) ? ", ablation effect " + fmtSigned(n.ablation_delta) : ""),
        transform: "translate(" + (p.x - PILL_W / 2) + "," + (p.y - PILL_H / 2) + ")" });
      g.appendChild(sv("title", { text: n.id + (isNum(n.ablation_delta) ? "\nablation \u0394loss " + fmtSigned(n.ablation_delta) : "") +
        (isNum(dv) ? "\ndirect A\u2212B " + fmtSigned(dv) : "") +
        (isNum(n.keep_rate) ? "\nkept in " + Math.round(100 * n.keep_rate) + "% of the stability seeds" : "") }));
      // fill: blue/orange by the node's direct push toward A/B; grey if it writes nothing directly
      var rect = { width: PILL_W, height: PILL_H, rx: n.virtual === "logit" ? 3 : 10, fill: abColour(dv, scale, 0.12) || (n.virtual ? "#e2e8f0" : "#64748b") };
      if (isNum(n.keep_rate)) rect["fill-opacity"] = (0.25 + 0.75 * n.keep_rate).toFixed(2);
      g.appendChild(sv("rect", rect));
      g.appendChild(sv("text", { x: PILL_W / 2, y: PILL_H / 2 + 3.8, "text-anchor": "middle", text: nodeLabel(n, c) }));
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
    view.nodeEls = nodeEls; view.edgeEls = edgeEls; view.residEls = residEls;
    view.content = { w: lay.width, h: lay.height };
    view.counts.textContent = "showing " + fmtInt(vis.nodes.length) + " of " + fmtInt(c.nodes.length) + " nodes, " +
      fmtInt(vis.edges.length) + " of " + fmtInt(c.edges.length) + " edges (+ " + vis.inputs.length + " inputs, 2 logits)";
    if (fit || !state.graph.vb) fitView(); else setViewBox(state.graph.vb);
    highlight(state.node);
  }

  // Zoom and pan through the SVG viewBox: the drawing never re-renders for either.
  function setViewBox(vb) {
    state.graph.vb = vb;
    view.svg.setAttribute("viewBox", vb.x.toFixed(1) + " " + vb.y.toFixed(1) + " " + vb.w.toFixed(1) + " " + vb.h.toFixed(1));
  }
  function fitView() {
    if (!view.content) return;
    setViewBox({ x: 0, y: 0, w: view.content.w, h: view.content.h });
  }
  function zoomBy(f, cx, cy) {
    var vb = state.graph.vb;
    if (!vb) return;
    cx = cx === undefined ? vb.x + vb.w / 2 : cx; cy = cy === undefined ? vb.y + vb.h / 2 : cy;
    var w = Math.max(60, Math.min(vb.w * f, 40 * (view.content ? view.content.w : vb.w)));
    var k = w / vb.w;
    setViewBox({ x: cx - (cx - vb.x) * k, y: cy - (cy - vb.y) * k, w: w, h: vb.h * k });
  }
  function svgPoint(svg, ev) {
    var r = svg.getBoundingClientRect(), vb = state.graph.vb;
    var s = Math.max(vb.w / r.width, vb.h / r.height);  // "meet": the larger ratio applies
    var ox = (r.width * s - vb.w) / 2, oy = (r.height * s - vb.h) / 2;
    return { x: vb.x - ox + (ev.clientX - r.left) * s, y: vb.y - oy + (ev.clientY - r.top) * s, s: s };
  }
  function enablePanZoom(svg) {
    svg.addEventListener("wheel", function (ev) {
      if (!state.graph.vb) return;
      ev.preventDefault();
      var p = svgPoint(svg, ev);
      zoomBy(ev.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.target.closest && ev.target.closest("g.node")) return;
      drag = { x: ev.clientX, y: ev.clientY, vb: state.graph.vb, s: svgPoint(svg, ev).s };
      svg.classList.add("panning");
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      setViewBox({ x: drag.vb.x - (ev.clientX - drag.x) * drag.s, y: drag.vb.y - (ev.clientY - drag.y) * drag.s, w: drag.vb.w, h: drag.vb.h });
    });
    window.addEventListener("pointerup", function () { drag = null; if (view.svg) view.svg.classList.remove("panning"); });
  }
  // Search and links: a node outside the budget is pinned (drawn from then on), selected, centred.
  function focusNode(c, id) {
    if (c._byId[id] && !view.nodeEls[id]) { state.graph.pinned[id] = true; }
    state.node = id;
    drawGraph(c, false);
    var p = view.lay.pos[id];
    if (p) {
      var w = Math.min(view.content.w, 900), h = Math.min(view.content.h, 600);
      setViewBox({ x: p.x - w / 2, y: p.y - h / 2, w: w, h: h });
    }
    selectNode(id, true);
  }

  function highlight(id) {
    if (!view.svg || !view.nodeEls) return;
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

  function renderLegend(c) {
    function lineSample(colour, dash, width) {
      return sv("svg", { width: 28, height: 10 }, sv("line", { x1: 1, y1: 5, x2: 27, y2: 5, stroke: colour,
        "stroke-width": width || 4, "stroke-dasharray": dash || null }));
    }
    function pill(colour) { var s = el("span", { class: "swatch" }); s.setAttribute("data-colour", colour); return s; }
    var items = [
      el("span", { title: GLOSSARY["edge"] }, lineSample(COLOURS.posWeight), " positive weight"),
      el("span", { title: GLOSSARY["edge"] }, lineSample(COLOURS.negWeight), " negative weight (width \u221d |weight|)"),
      el("span", { title: GLOSSARY["residual link"] }, lineSample("#8a94a6", "3 3", 2), " residual stream (same channel; not an edge)"),
    ];
    if (c && c.trace) {
      items.push(el("span", { title: GLOSSARY["direct A\u2212B"] }, pill(COLOURS.a), " node pushes toward A, ", pill(COLOURS.b), " toward B (direct A\u2212B; shade \u221d size)"));
      items.push(el("span", null, pill("#64748b"), " no direct path to the logits (q, k, reads)"));
    } else {
      items.push(el("span", null, pill("#64748b"), " node (no trace: report made without the model)"));
    }
    items.push(el("span", null, "drag to pan, wheel to zoom; keys: ", el("span", { class: "kbd", text: "Tab" }), " move, ",
      el("span", { class: "kbd", text: "Enter" }), " open, ", el("span", { class: "kbd", text: "Esc" }), " close"));
    return el("div", { class: "legend", "aria-label": "legend" }, items);
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
      row("A: " + (t.class_pos || "positive"), m.pos, COLOURS.a),
      row("B: " + (t.class_neg || "negative"), m.neg, COLOURS.b));
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
    if (state.node && !n && virtualNode(c, state.node)) { fillVirtualCard(c, card, virtualNode(c, state.node)); return; }
    if (!n) {
      card.appendChild(el("h3", { text: "Select a node" }));
      card.appendChild(el("p", { class: "small muted", text: "Click a node (or focus it with Tab and press Enter) to see what it does: its effect on the task, its direct push toward A or B, its activation on each class, the attention of its head, corpus snippets that excite it most and least, and its edges." }));
      if (c.nodes.length) {
        var top = ranked(c).slice(0, 8);
        var byDelta = top.some(function (m) { return isNum(m.ablation_delta); });
        card.appendChild(el("h4", { text: "most important nodes", title: GLOSSARY["node budget"] }));
        card.appendChild(el("p", { class: "small muted", text: byDelta ? "score: ablation effect, the rise in the circuit's task loss (nats) when the node is also ablated" : "score: mask logit \u03c4 (no ablation effects in this file)" }));
        card.appendChild(el("ul", { class: "edgelist" }, top.map(function (m) {
          return el("li", null, el("button", { type: "button", text: m.id, onclick: function () { focusNode(c, m.id); } }),
            el("span", { class: "w", text: fmtSigned(byDelta ? m.ablation_delta : m.tau) + (byDelta ? " nats" : "") }));
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
      el("span", { class: "k", text: "mask logit \u03c4", title: GLOSSARY["mask logit \u03c4"] }), el("span", { class: "mono", text: fmt(n.tau) + " (kept: \u03c4 > 0)" }),
      el("span", { class: "k", text: "direct A\u2212B", title: GLOSSARY["direct A\u2212B"] }), el("span", { class: "mono", text: directText(c, n) })));
    var head = headPattern(c, n);
    if (head) {
      card.appendChild(el("h4", { text: "attention of head " + n.head + " (layer " + n.layer + ") from the last token", title: GLOSSARY["attention pattern"] }));
      card.appendChild(attentionRows(c, head));
    }
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
    if (scale) card.appendChild(el("p", { class: "small muted" }, "shade scale: |activation| up to " + fmt(scale) + "; teal positive, purple negative"));
  }
  function directText(c, n) {
    if (!c.trace) return "not computed (report made without the model)";
    if (!isNum(n.direct_a)) return "none: this node writes nothing into the residual; it acts through later nodes";
    return "A prompts " + fmtSigned(n.direct_a) + ", B prompts " + fmtSigned(n.direct_b) + " (mean; logit units)";
  }
  function headPattern(c, n) {
    if (!c.trace || !isNum(n.head) || !/^attn\.[qkv]$/.test(n.site)) return null;
    return (c.trace.heads || []).filter(function (h) { return h.layer === n.layer && h.head === n.head; })[0] || null;
  }
  function attentionRows(c, head) {
    // One row per traced prompt (or only the chosen one): tokens shaded by attention weight.
    var box = el("div", { class: "attn-pattern", "data-head": head.layer + "." + head.head });
    c.trace.prompts.forEach(function (p, i) {
      if (state.prompt !== null && i !== state.prompt) return;
      var w = head.weights[i] || [];
      var line = el("div", { class: "snippet attn-row" });
      line.appendChild(el("span", { class: "val", text: "sink " + fmt(head.sink[i], 2) }));
      line.appendChild(el("span", { class: "lbl", text: (p.cls === "pos" ? "A" : "B") + " #" + (Math.floor(i / 2) + 1) }));
      var best = 0;
      w.forEach(function (x, j) { if (x > w[best]) best = j; });
      p.tokens.forEach(function (t, j) {
        var span = el("span", { class: "tok" + (j === best ? " focus" : ""), title: JSON.stringify(t) + "  attention " + fmt(w[j], 3) });
        span.textContent = showToken(String(t));
        var a = Math.min(1, (w[j] || 0));
        if (a >= 0.02) span.style.backgroundColor = "rgba(15, 118, 110, " + (0.1 + 0.8 * a).toFixed(3) + ")";
        line.appendChild(span);
      });
      box.appendChild(line);
    });
    box.appendChild(el("p", { class: "small muted", text: "shade \u221d attention weight (teal, 0 to 1); outlined: the token the head reads most" }));
    return box;
  }
  function fillVirtualCard(c, card, v) {
    if (v.virtual === "input") {
      card.appendChild(el("h3", { text: v.id }));
      card.appendChild(el("p", { class: "small", text: GLOSSARY["token embedding"] }));
      var info = c.trace && c.trace.inputs && c.trace.inputs[String(v.index)];
      if (info) {
        ["top", "bottom"].forEach(function (k) {
          card.appendChild(el("h4", { text: (k === "top" ? "tokens writing the most into channel " : "tokens writing the least into channel ") + v.index }));
          card.appendChild(el("ul", { class: "edgelist" }, info[k].map(function (tv) {
            return el("li", null, el("span", { class: "mono", text: JSON.stringify(tv[0]) }), el("span", { class: "w " + (tv[1] >= 0 ? "pos" : "neg"), text: fmtSigned(tv[1], 3) }));
          })));
        });
      } else card.appendChild(el("p", { class: "small muted", text: "embedding tokens not computed (report made without the model)" }));
    } else {
      var a = v.index === 0;
      card.appendChild(el("h3", { text: "logit " + (a ? "A" : "B") + (c.trace ? ": " + JSON.stringify(a ? c.trace.target_a : c.trace.target_b) : "") }));
      card.appendChild(el("p", { class: "small", text: GLOSSARY["logits"] + (c.trace && !c.trace.same_targets ? " This task's pairs have varying answer tokens; the weights are those of the first traced pair." : "") }));
    }
    card.appendChild(el("h4", { text: v.virtual === "input" ? "read by" : "written by (kept residual writes)" }));
    var links = [];
    if (v.virtual === "input") c.nodes.forEach(function (n) { if (/act_in$/.test(n.site) && n.index === v.index) links.push([n.id, null]); });
    else c.nodes.forEach(function (n) {
      if (!/resid_delta$/.test(n.site)) return;
      var w = c.trace && c.trace.logit_weights[n.id];
      links.push([n.id, w ? w[v.index] : null]);
    });
    links.sort(function (x, y) { return Math.abs(y[1] || 0) - Math.abs(x[1] || 0); });
    if (!links.length) card.appendChild(el("p", { class: "small muted", text: "none" }));
    else card.appendChild(el("ul", { class: "edgelist" }, links.slice(0, 60).map(function (l) {
      return el("li", null, el("button", { type: "button", text: (v.virtual === "input" ? "\u2192 " : "\u2190 ") + l[0], onclick: function () { focusNode(c, l[0]); } }),
        isNum(l[1]) ? el("span", { class: "w " + (l[1] >= 0 ? "pos" : "neg"), text: fmtSigned(l[1], 4) }) : null);
    })));
  }

  // ---- per-prompt trace ------------------------------------------------------------------
  function renderTrace(c) {
    var tr = c.trace;
    var box = el("div", { class: "trace", id: "trace" });
    if (!tr || !tr.prompts.length) {
      box.appendChild(el("p", { class: "small muted", text: "No trace: the report was made without the model (or with --trace-pairs 0)." }));
      return box;
    }
    var sel = el("select", { id: "trace-prompt", "aria-label": "prompt to trace" },
      el("option", { value: "", text: "all traced prompts (node colour: mean on A prompts \u2212 mean on B prompts)" }),
      tr.prompts.map(function (p, i) {
        return el("option", { value: String(i), text: "pair " + (Math.floor(i / 2) + 1) + ", " + (p.cls === "pos" ? "A" : "B") + " prompt: \u2026" +
          p.tokens.slice(-6).join("").replace(/\n/g, "\u21b5").slice(-40) });
      }));
    if (state.prompt !== null) sel.value = String(state.prompt);
    sel.addEventListener("change", function () {
      state.prompt = sel.value === "" ? null : Number(sel.value);
      drawGraph(c, false);
      fillTrace(c, detail);
      fillCard(c);
    });
    var detail = el("div", { class: "trace-detail" });
    box.appendChild(el("p", { class: "small", title: GLOSSARY["trace"] }, "Pick a prompt: the graph's nodes take its values (blue pushes toward A ",
      el("code", { text: JSON.stringify(tr.target_a) }), ", orange toward B ", el("code", { text: JSON.stringify(tr.target_b) }), ")."));
    box.appendChild(sel);
    box.appendChild(detail);
    fillTrace(c, detail);
    return box;
  }
  function fillTrace(c, detail) {
    clear(detail);
    var tr = c.trace;
    if (state.prompt === null) {
      var rows = tr.prompts.map(function (p, i) {
        return el("tr", null, el("td", { text: "pair " + (Math.floor(i / 2) + 1) }), el("td", { text: p.cls === "pos" ? "A" : "B" }),
          el("td", { class: "num logit-diff", text: fmtSigned(p.logit_diff) }),
          el("td", { class: "small", text: (p.cls === "pos") === (p.logit_diff > 0) ? "right" : "wrong" }));
      });
      detail.appendChild(el("table", { class: "checks" }, el("thead", null, el("tr", null, el("th", { text: "pair" }), el("th", { text: "class" }),
        el("th", { class: "num", text: "logit(A) \u2212 logit(B)", title: "full model, last token" }), el("th", { text: "model's answer" }))), el("tbody", null, rows)));
      return;
    }
    var p = tr.prompts[state.prompt];
    detail.appendChild(heatLine(p.tokens, null, 0, p.tokens.length - 1, p.cls === "pos" ? "A prompt" : "B prompt", null));
    detail.appendChild(el("p", null, "full model: logit(A) \u2212 logit(B) = ", el("b", { class: "logit-diff", text: fmtSigned(p.logit_diff) }),
      el("span", { class: "muted", text: " (" + ((p.cls === "pos") === (p.logit_diff > 0) ? "right" : "wrong") + " answer; this prompt should continue with " + (p.cls === "pos" ? "A" : "B") + ")" })));
    var ids = Object.keys(p.direct).sort(function (a, b) { return Math.abs(p.direct[b]) - Math.abs(p.direct[a]); }).slice(0, 12);
    var sum = 0;
    Object.keys(p.direct).forEach(function (k) { if (/resid_delta:/.test(k)) sum += p.direct[k]; });
    detail.appendChild(el("p", { class: "small muted", text: "the kept residual writes add up to " + fmtSigned(sum) + " of it directly; the rest comes from the embedding, the bigram table and the model's other residual writes" }));
    detail.appendChild(el("table", { class: "checks trace-table" }, el("thead", null, el("tr", null, el("th", { text: "node" }),
      el("th", { class: "num", text: "activation" }), el("th", { class: "num", text: "direct A\u2212B", title: GLOSSARY["direct A\u2212B"] }))),
      el("tbody", null, ids.map(function (id) {
        var v = p.direct[id];
        var cell = el("td", { class: "num", text: fmtSigned(v) });
        cell.style.color = v >= 0 ? COLOURS.a : COLOURS.b;
        return el("tr", null, el("td", null, el("button", { type: "button", class: "linkish mono", text: id, onclick: function () { focusNode(c, id); } })),
          el("td", { class: "num", text: fmt(p.acts[id]) }), cell);
      }))));
  }
  function renderGlossary() {
    return el("details", { class: "glossary", id: "glossary" }, el("summary", { text: "glossary: every term on this page" }),
      el("dl", null, Object.keys(GLOSSARY).map(function (k) { return [el("dt", { text: k }), el("dd", { text: GLOSSARY[k] })]; })));
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
    sec.appendChild(renderLegend(c));
    var graph = renderGraph(c);
    sec.appendChild(el("div", { class: "workspace" }, graph, renderCard(c)));
    highlight(state.node);
    if (c.nodes.length) {
      sec.appendChild(el("h3", { text: "Trace a prompt pair (full model, held-out, the circuit's prompt length)", title: GLOSSARY["trace"] }));
      sec.appendChild(renderTrace(c));
    }
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
    else { main.appendChild(renderIndex()); main.appendChild(renderGlossary()); main.appendChild(renderCircuit()); }
    app.appendChild(main);
    app.appendChild(el("footer", { text: "Nodes: channels of the eight node sites of each layer. Edges: nonzero weights between kept nodes (METHOD \u00a76). Self-contained page; nothing is fetched." }));
    // Swatches are coloured here (through the CSSOM) rather than with inline style markup.
    Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-colour]"), function (s) {
      s.style.backgroundColor = s.getAttribute("data-colour");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".swatch[data-cls]"), function (s) {
      s.style.backgroundColor = s.getAttribute("data-cls") === "pos" ? COLOURS.a : COLOURS.b;
    });
  }
  function updateHash() {
    var h = "#c=" + state.circuit + (state.node ? "&n=" + encodeURIComponent(state.node) : "");
    if (location.hash !== h && history.replaceState) {
      try { history.replaceState(null, "", h); } catch (e) { /* some file:// contexts refuse; harmless */ }
    }
  }
  function selectCircuit(i, node, scroll) {
    state.circuit = i; state.node = node || null; state.prompt = null;
    render(); updateHash();
    if (scroll) { var v = document.getElementById("circuit-view"); if (v && v.scrollIntoView) v.scrollIntoView({ block: "start" }); }
  }
  function selectNode(id, focus) {
    var c = DATA.circuits[state.circuit];
    if (id && !circuitNodeMap(c)[id] && !virtualNode(c, id)) return;
    state.node = id;
    // a node outside the budget (reached through an edge list) is pinned into the drawing
    if (id && view.nodeEls && !view.nodeEls[id] && circuitNodeMap(c)[id]) { state.graph.pinned[id] = true; drawGraph(c, false); }
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
    state.node = c && node && (circuitNodeMap(c)[node] || virtualNode(c, node)) ? node : null;
  }
  fromHash();
  render();
  if (state.node) fillCard(DATA.circuits[state.circuit]);
})();
