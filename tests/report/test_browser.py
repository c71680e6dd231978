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
        assert page.locator("g.node").count() == len(json.loads(run_circuit.read_text())["nodes"])
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
        page.click('g.node[data-id="0.mlp.post_act:7"]')
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
    finally:
        browser.close()
    assert errors == []
    assert requests == [out.as_uri()]
    assert dialogs == []


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
        assert page.locator("table.checks").inner_text().startswith("sufficiency")
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
    out = tmp_path / "f.html"
    out.write_text(render_html(build_payload([circuit_view(Path("f.json"), typed(c))])))
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
