"""Hand-written circuit files and browser helpers shared by the report tests."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sparsecircuits.core.circuit import Circuit, circuit_from_json

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
XSS = "</script><script>alert(1)</script>"


def typed(circuit: dict[str, Any], name: str = "c.json") -> Circuit:
    """A circuit dict as the typed record the report works on (checked against the schema)."""
    return circuit_from_json(circuit, Path(name))


def example_circuit(
    run: str = "runs/none", weights_sha256: str = "0" * 64, task: str = "bracket_counting"
) -> dict[str, Any]:
    """A small but complete circuit dict (schema v1) with every kind of node and edge."""
    nodes = [
        ("0.attn.act_in:3", 0.31, 0.12),
        ("0.attn.act_in:7", 0.22, 0.05),
        ("0.attn.q:5", 0.4, 0.2),
        ("0.attn.k:18", 0.3, 0.08),
        ("0.attn.v:20", 0.5, 0.3),
        ("0.attn.v:37", 0.2, 0.02),
        ("0.attn.resid_delta:7", 0.25, 0.11),
        ("0.mlp.act_in:7", 0.35, 0.15),
        ("0.mlp.post_act:12", 0.45, 0.4),
        ("0.mlp.resid_delta:3", 0.15, -0.01),
        ("1.attn.act_in:3", 0.2, 0.09),
        ("1.attn.q:1", 0.1, 0.01),
    ]
    edges = [
        ("0.attn.act_in:3", "0.attn.q:5", 0.27),
        ("0.attn.act_in:7", "0.attn.k:18", -0.4),
        ("0.attn.act_in:3", "0.attn.v:20", 0.9),
        ("0.attn.act_in:7", "0.attn.v:37", 0.05),
        ("0.attn.v:20", "0.attn.resid_delta:7", -0.6),
        ("0.attn.v:37", "0.attn.resid_delta:7", 0.3),
        ("0.mlp.act_in:7", "0.mlp.post_act:12", 1.2),
        ("0.mlp.post_act:12", "0.mlp.resid_delta:3", -0.8),
        ("1.attn.act_in:3", "1.attn.q:1", 0.33),
    ]
    node_list = []
    for node_id, tau, delta in nodes:
        layer, rest = node_id.split(".", 1)
        site, index = rest.split(":")
        node_list.append(
            {
                "id": node_id,
                "layer": int(layer),
                "site": site,
                "index": int(index),
                "tau": tau,
                "ablation_delta": delta,
            }
        )
    return {
        "schema_version": 1,
        "model": {
            "run": run,
            "weights_sha256": weights_sha256,
            "config": {"n_layer": 2, "d_model": 32, "n_head": 2, "d_head": 16},
        },
        "task": {
            "name": task,
            "description": "Close a nested list with ]] and a flat one with ]. " + XSS,
            "class_pos": "nested list " + XSS,
            "class_neg": "flat list",
            "n_train": 64,
            "n_heldout": 16,
            "seed": 0,
        },
        "ablation": "mean",
        "seed": 0,
        "target_loss": 0.15,
        "losses": {
            "full_model": 0.05,
            "full_model_accuracy": 0.99,
            "circuit": 0.14,
            "circuit_accuracy": 0.97,
            "circuit_calibrated": None,
            "calibration": None,
        },
        "nodes": node_list,
        "edges": [{"src": s, "dst": d, "weight": w} for s, d, w in edges],
        "counts": {"nodes": len(node_list), "edges": len(edges), "model_nodes": 1024},
        "curve": [
            {"nodes": n, "loss": 0.69 * math.exp(-n / 5) + 0.1}
            for n in (1, 2, 4, 8, 12, 16, 32, 64)
        ],
        "hyperparameters": {"steps": 10, "lr": 0.003, "k_coef": 0.0001},
        "time_seconds": 1.5,
        "created": "2026-11-21T12:00:00+00:00",
        "validation": None,
    }


def browser_page(playwright: Any, tmp_path: Path):
    """Launch Debian's headless chromium; return (browser, page, errors, requests, dialogs)."""
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))

    def on_dialog(d):
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    return browser, page, errors, requests, dialogs
