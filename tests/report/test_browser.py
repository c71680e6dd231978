"""The report in headless chromium: clickable nodes, snippets, no errors, nothing fetched, no injection."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import CHROMIUM, XSS, browser_page, example_circuit, typed

from sparsecircuits.report.build import ReportOptions, write_report
from sparsecircuits.report.payload import build_payload, circuit_view
from sparsecircuits.report.render import render_html
from sparsecircuits.report.snippets import SnippetConfig

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
    ),
]


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def test_real_run_report_click_node_shows_card(
    playwright, run_circuit: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    opts = ReportOptions(
        snippet=SnippetConfig(n_windows=64, window_len=24), n_class_pairs=16, n_examples=2
    )
    write_report(run_circuit, out, opts)
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        n_nodes = len(json.loads(run_circuit.read_text())["nodes"])
        assert page.locator("g.node:not(.virtual)").count() == n_nodes  # under the budget
        assert page.locator("g.node.virtual.logit").count() == 2
        assert page.locator("g.node.virtual.input").count() >= 1  # the act_in channels' embedding
        assert page.locator(".logit-edge").count() >= 1  # resid writes reach the logits
        page.click('g.node[data-id="0.mlp.post_act:7"]')
        card = page.locator("aside.card")
        assert card.locator("h3").inner_text() == "0.mlp.post_act:7"
        assert card.locator(".snippet").count() >= 2  # corpus snippets, task prompts
        assert "incoming edges" in card.inner_text().lower()
        # Task-derived parts: per-class mean activations and prompts with the final token marked.
        assert card.locator(".bars").count() == 1
        assert card.locator(".snippet .tok.focus").count() >= 1
        # Clicking an edge in the card moves to the other node.
        first_edge = card.locator(".edgelist button").first
        target = first_edge.inner_text()[2:]
        first_edge.click()
        assert card.locator("h3").inner_text() == target
        # Keyboard: Tab onto a node, Enter opens it, Escape closes it.
        page.locator('g.node[data-id="0.attn.q:2"]').focus()
        page.keyboard.press("Enter")
        assert card.locator("h3").inner_text() == "0.attn.q:2"
        assert page.locator("svg.graph .edge.hl").count() >= 1  # connected edges highlighted
        page.keyboard.press("Escape")
        assert card.locator("h3").inner_text() == "Select a node"
        # A kept head's attention pattern on the traced prompts, in its q node's card.
        page.click('g.node[data-id="0.attn.q:2"]')
        pattern = card.locator(".attn-pattern .attn-row")
        assert pattern.count() == 2 * 8 and "sink" in pattern.first.inner_text()
        assert card.locator(".attn-pattern .tok.focus").count() == 2 * 8  # one most-read token each
        page.click('g.node[data-id="0.mlp.post_act:7"]')
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
    finally:
        browser.close()
    assert errors == []
    assert requests == [out.as_uri()]
    assert dialogs == []


def test_trace_of_a_prompt_pair_shows_its_logit_difference(
    playwright, run_circuit: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trace.html"
    write_report(run_circuit, out, ReportOptions(snippets=False, n_class_pairs=8, n_examples=1))
    data = json.loads(out.read_text().split('id="report-data">', 1)[1].split("</script>", 1)[0])
    prompts = data["circuits"][0]["trace"]["prompts"]
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        rows = page.locator("#trace tbody tr")
        assert rows.count() == len(prompts) == 16  # 8 held-out pairs, both prompts
        page.select_option("#trace-prompt", "3")  # pair 2, the B prompt
        shown = page.locator("#trace .logit-diff").inner_text()
        assert float(shown) == pytest.approx(prompts[3]["logit_diff"], abs=1e-3)
        assert page.locator("#trace .trace-table tbody tr").count() >= 1
        # The graph now shows this prompt's pushes: a node with a direct path is coloured.
        fills = page.locator("g.node.direct rect").evaluate_all(
            "rs => rs.map(r => r.getAttribute('fill'))"
        )
        assert fills and all(f.startswith("rgba(") for f in fills)
        page.click('g.node[data-id="logit:A"]')
        assert page.locator("aside.card h3").inner_text().startswith("logit A")
    finally:
        browser.close()
    assert errors == [] and dialogs == []
    assert requests == [out.as_uri()]


def report_of(circuit: dict, out: Path) -> Path:
    """The report page of one circuit dict, written to `out`."""
    view = circuit_view(out.with_suffix(".json").relative_to(out.parent), typed(circuit))
    out.write_text(render_html(build_payload([view])))
    return out


def _large_circuit(n_nodes: int = 412, n_edges: int = 1200) -> dict:
    """A synthetic circuit of the size the issue names: 412 nodes and 1,200 edges over 4 layers."""
    import random

    rng = random.Random(0)
    c = example_circuit(task="with_as")
    sites = ["attn.act_in", "attn.q", "attn.k", "attn.v", "attn.resid_delta", "mlp.act_in", "mlp.post_act", "mlp.resid_delta"]  # fmt: skip
    nodes, seen = [], set()
    while len(nodes) < n_nodes:
        layer, site = rng.randrange(4), rng.choice(sites)
        index = rng.randrange(128 if site != "mlp.post_act" else 512)
        nid = f"{layer}.{site}:{index}"
        if nid in seen:
            continue
        seen.add(nid)
        nodes.append({"id": nid, "layer": layer, "site": site, "index": index,
                      "tau": rng.random(), "ablation_delta": rng.random() / 2})  # fmt: skip
    order = {s: i for i, s in enumerate(sites)}
    key = {n["id"]: (n["layer"], order[n["site"]]) for n in nodes}
    edges, pairs = [], set()
    while len(edges) < n_edges:
        a, b = rng.sample(nodes, 2)
        if key[a["id"]] >= key[b["id"]] or (a["id"], b["id"]) in pairs:
            continue
        pairs.add((a["id"], b["id"]))
        edges.append({"src": a["id"], "dst": b["id"], "weight": rng.gauss(0, 1)})
    c["nodes"], c["edges"] = nodes, edges
    c["model"]["config"] = {"n_layer": 4, "d_model": 128, "n_head": 8, "d_head": 16}
    c["counts"] = {"nodes": n_nodes, "edges": n_edges, "model_nodes": 11264}
    return c


def test_large_circuit_budget_search_and_zoom(playwright, tmp_path: Path) -> None:
    c = _large_circuit()
    out = report_of(c, tmp_path / "large.html")
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        real = page.locator("g.node:not(.virtual)")
        assert real.count() == 40  # no hairball by default: the top 40 by importance
        counts = page.locator("#graph-counts").inner_text()
        assert counts.startswith("showing 40 of 412 nodes")
        shown_edges = page.locator("svg.graph path.edge:not(.logit-edge)").count()
        assert shown_edges <= 150
        # The budget slider changes the visible node count.
        page.locator("#node-budget").fill("120")
        assert real.count() == 120
        assert page.locator("#graph-counts").inner_text().startswith("showing 120 of 412 nodes")
        # The edge threshold hides weak edges.
        before = page.locator("svg.graph path.edge:not(.logit-edge)").count()
        page.locator("#edge-threshold").fill("50")
        assert page.locator("svg.graph path.edge:not(.logit-edge)").count() < before
        # Search focuses a node, even one outside the budget (it is pinned), and zooms to it.
        least = min(c["nodes"], key=lambda n: n["ablation_delta"])["id"]
        assert page.locator(f'g.node[data-id="{least}"]').count() == 0
        vb_before = page.locator("#graph-svg").get_attribute("viewBox")
        page.fill("#node-search", least)
        page.press("#node-search", "Enter")
        assert page.locator("aside.card h3").inner_text() == least
        assert page.locator(f'g.node[data-id="{least}"]').count() == 1
        assert page.evaluate("document.activeElement.getAttribute('data-id')") == least
        vb_after = page.locator("#graph-svg").get_attribute("viewBox")
        assert vb_after != vb_before
        assert float(vb_after.split()[2]) < float(vb_before.split()[2])  # zoomed in
        # Fit shows the whole drawing again; zoom buttons change the view box.
        page.click("button[aria-label='fit the whole graph in view']")
        fit = page.locator("#graph-svg").get_attribute("viewBox")
        assert fit.startswith("0.0 0.0 ") and float(fit.split()[2]) > float(vb_after.split()[2])
        page.click("button[aria-label='zoom in']")
        assert page.locator("#graph-svg").get_attribute("viewBox") != fit
        page.screenshot(path=str(tmp_path / "large.png"), full_page=True)
    finally:
        browser.close()
    assert errors == [] and dialogs == []
    assert requests == [out.as_uri()]


def test_validation_panel_is_tables(playwright, tmp_path: Path) -> None:
    c = example_circuit(task="with_as")
    c["validation"] = {
        "checks": {
            "binarisation": {
                "loss": 0.153, "circuit_loss": 0.14, "loss_increase": 0.013, "nodes": 12,
                "per_node": {n["id"]: [0.5, 0.1, 0.0, 1.2] for n in c["nodes"]},
                "summary": "loss 0.1530", "threshold": "loss <= 2 x target = 0.3", "passed": True, "seconds": 3.0,
            },
            "stochastic": {
                "n": 8, "fraction": 0.5, "mean": 0.2, "std": 0.01, "worst": 0.3, "best": 0.1,
                "summary": "", "threshold": "mean <= 0.3", "passed": True, "seconds": 1.0,
            },
            "control_shuffled": {
                "kind": "shuffled", "reached_target": False, "nodes": None, "edges": None,
                "edge_ratio": None, "node_ratio": None, "full_model": 0.69, "achieved_loss": None,
                "reason": "target unreachable", "summary": "", "threshold": "cannot reach", "passed": True, "seconds": 2.0,
            },
        },
        "verdict": "pass",
        "checks_run": ["binarisation", "stochastic", "control_shuffled"],
        "seed": 0,
        "config": {"stochastic_draws": 8, "resample_factor": 2.0},
        "settings_key": "x",
        "time_seconds": 6.0,
    }  # fmt: skip
    c["losses"]["circuit"] = 0.04  # beats the full model's 0.05
    out = report_of(c, tmp_path / "v.html")
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        panel = page.locator(".validation").inner_text()
        assert "per_node" not in panel and "null" not in panel and "{" not in panel
        assert "draws\t8\n" in panel or "draws 8" in panel.replace("\t", " ")
        assert "8.000" not in panel
        assert page.locator(".validation-table > tbody > tr").count() == 3
        assert page.locator(".binarisation tbody tr").count() == len(c["nodes"])
        width = page.locator(".validation-table td.rule").first.evaluate("e => e.clientWidth")
        assert width > 200  # the rule column no longer squeezes to one word a line
        assert "lower than the full model" in page.locator(".note.beats").inner_text()
        assert page.locator("#glossary dt").count() >= 10
    finally:
        browser.close()
    assert errors == [] and dialogs == []


def test_injected_text_shows_as_text(playwright, tmp_path: Path) -> None:
    circuit = example_circuit()
    view = circuit_view(
        Path("c.json"),
        typed(circuit),
        node_info={
            "0.attn.q:5": {
                "class_mean": {"pos": 0.5, "neg": -0.2},
                "snippets": {
                    "top": [
                        {
                            "tokens": ["x = '", XSS, "'"],
                            "acts": [0.1, 0.9, 0.0],
                            "focus": 1,
                            "value": 0.9,
                        }
                    ],
                    "bottom": [
                        {
                            "tokens": ["<!--", " <img src=x onerror=alert(2)>"],
                            "acts": [-0.4, -0.1],
                            "focus": 0,
                            "value": -0.4,
                        }
                    ],
                },
            }
        },
        examples=[
            {
                "cls": "pos",
                "tokens": ["print(", XSS],
                "target": XSS,
                "other": "'",
                "acts": {"0.attn.q:5": [0.2, 0.7]},
            }
        ],
        notes=["note " + XSS],
    )
    out = tmp_path / "x.html"
    out.write_text(render_html(build_payload([view], title=XSS), title=XSS))
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        page.click('g.node[data-id="0.attn.q:5"]')
        card_text = page.locator("aside.card").inner_text()
        assert XSS in card_text and "<img src=x onerror=alert(2)>" in card_text
        body = page.locator("body").inner_text()
        assert body.count(XSS) >= 4  # title, description, class name, note, snippet, prompt
        assert page.locator("script").count() == 2 and page.locator("img").count() == 0
        assert page.title() == XSS
        page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)
    finally:
        browser.close()
    assert dialogs == []
    assert errors == []
    assert requests == [out.as_uri()]


def test_index_switches_circuits_and_shows_findings(playwright, tmp_path: Path) -> None:
    empty = example_circuit(task="else_elif")
    empty["nodes"], empty["edges"] = [], []
    empty["counts"] = {"nodes": 0, "edges": 0, "model_nodes": 1024}
    validated = example_circuit(task="with_as")
    validated["validation"] = {
        "checks": {"sufficiency": {"loss_mean": 0.14, "threshold": "<= 0.15", "passed": True}},
        "verdict": "pass",
    }
    views = [circuit_view(Path(f"{i}.json"), typed(c)) for i, c in enumerate([validated, empty])]
    out = tmp_path / "two.html"
    out.write_text(render_html(build_payload(views)))
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        rows = page.locator("table.index tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator(".badge").inner_text() == "pass"
        assert rows.nth(1).locator(".badge").inner_text() == "not validated"
        first = page.locator(".validation-table > tbody > tr").first.inner_text()
        assert first.startswith("sufficiency") and "0.1400" in first
        rows.nth(1).locator("button").click()
        assert "else_elif" in page.locator("#circuit-view h2").inner_text()
        assert "Empty circuit" in page.locator(".finding").inner_text()
        assert page.locator("g.node").count() == 0
        assert "#c=1" in page.url
        page.reload()  # the address keeps the chosen circuit
        assert "else_elif" in page.locator("#circuit-view h2").inner_text()
    finally:
        browser.close()
    assert errors == [] and dialogs == []
    assert all(r == out.as_uri() or r.startswith(out.as_uri() + "#") for r in requests)


def test_faithfulness_curves_and_keep_rates_render(playwright, tmp_path: Path) -> None:
    c = example_circuit(task="with_as")
    ids = [n["id"] for n in c["nodes"]]
    n = c["counts"]["nodes"]
    c["faithfulness"] = {
        "fractions": [0.0, n / 1024, 0.5, 1.0],
        "nodes": [0, n, 512, 1024],
        "full_model_loss": 0.1,
        "losses": {a: [0.69, 0.12, 0.11, 0.1] for a in ("mean", "zero", "resample")},
        "faithfulness": {
            "mean": [0.0, 0.95, 0.98, 1.0],
            "zero": [0.0, 0.5, 0.9, 1.0],
            "resample": [0.0, 0.3, 0.8, 1.0],
        },
        "area": {"mean": 0.97, "zero": 0.85, "resample": 0.75},
        "deviation": {"mean": 0.03, "zero": 0.15, "resample": 0.25},
        "circuit_nodes": n,
    }
    c["stability"] = {
        "seeds": [0, 1],
        "nodes": [n, n + 1],
        "losses": [0.12, 0.13],
        "node_fraction": {i: (1.0 if k % 2 else 0.5) for k, i in enumerate(ids)},
        "core_threshold": 0.8,
        "core": ids[1::2],
        "core_loss": {"mean": 0.2, "resample": 0.4},
        "core_sufficient": False,
    }
    c["connectivity"] = {
        "dropped": 2,
        "applied": True,
        "loss_before": 0.12,
        "loss_after": 0.125,
        "dropped_nodes": ["0.attn.q:1", "0.attn.k:2"],
    }
    out = report_of(c, tmp_path / "f.html")
    browser, page, errors, requests, dialogs = browser_page(playwright, tmp_path)
    try:
        page.goto(out.as_uri())
        curves = page.locator("svg.faithfulness path.line")
        assert curves.count() == 3
        assert page.locator("svg.faithfulness + p + table").inner_text().count("\n") >= 3
        faint = page.locator(f'g.node[data-id="{ids[0]}"] rect').get_attribute("fill-opacity")
        full = page.locator(f'g.node[data-id="{ids[1]}"] rect').get_attribute("fill-opacity")
        assert float(faint) < float(full) == 1.0
        notes = page.locator(".note").all_inner_texts()
        assert any("Stability over 2 seeds" in t and "misses the target" in t for t in notes)
        assert any("Connectivity: 2 nodes" in t for t in notes)
    finally:
        browser.close()
    assert errors == [] and dialogs == []
