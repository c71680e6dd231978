"""The data the viewer page embeds: circuits (as in their files) plus per-node analysis."""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

from sparsecircuits import __version__
from sparsecircuits.core.circuit import TOP_LEVEL_FIELDS, Circuit

QKV_SITES = ("attn.q", "attn.k", "attn.v")
# Fields of a circuit file that the viewer shows as they are (nodes and edges get their own view).
_PASSTHROUGH = tuple(k for k in TOP_LEVEL_FIELDS if k not in ("nodes", "edges"))


def round_sig(x: float | None, digits: int = 4) -> float | None:
    """`x` rounded to `digits` significant digits (keeps the page small); None if not finite."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0.0:
        return 0.0
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def d_head_of(config: dict[str, Any] | None) -> int | None:
    """Head width from a ModelConfig dict (explicit `d_head`, else d_model / n_head)."""
    if not config:
        return None
    if config.get("d_head"):
        return int(config["d_head"])
    d_model, n_head = config.get("d_model"), config.get("n_head")
    if d_model and n_head:
        return int(d_model) // int(n_head)
    return None


def circuit_view(
    path: Path,
    circuit: Circuit,
    node_info: dict[str, dict[str, Any]] | None = None,
    examples: list[dict[str, Any]] | None = None,
    notes: list[str] | None = None,
    trace: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One circuit as the viewer wants it: the file's fields, nodes with head and analysis, and
    the trace of `attribution.trace_circuit` (None: the graph has no attribution or attention)."""
    data = circuit.to_json()
    view: dict[str, Any] = {k: data.get(k) for k in _PASSTHROUGH}
    view["file"] = path.name
    d_head = d_head_of(circuit.model.config)
    nodes = []
    for raw in circuit.nodes:
        node_id = raw.id
        node: dict[str, Any] = {
            "id": node_id,
            "layer": raw.layer,
            "site": raw.site,
            "index": raw.index,
            "tau": round_sig(raw.tau),
            "ablation_delta": round_sig(raw.ablation_delta),
        }
        if circuit.stability is not None:
            node["keep_rate"] = circuit.stability.node_fraction.get(node_id)
        if node["site"] in QKV_SITES and d_head:
            node["head"] = node["index"] // d_head
        info = (node_info or {}).get(node_id)
        if info:
            node.update(info)
        nodes.append(node)
    view["nodes"] = nodes
    view["edges"] = [
        {"src": e.src, "dst": e.dst, "weight": round_sig(e.weight, 5)} for e in circuit.edges
    ]
    view["examples"] = examples
    view["trace"] = trace
    view["notes"] = imported_notes(circuit) + pruning_notes(circuit) + list(notes or [])
    view["steering"] = steering_results(path)
    return view


# The fields of a `bridge steer` result the viewer shows (sparsecircuits.bridge.steer.SteerResult).
_STEER_FIELDS = ("node", "location", "steer_from", "steer_towards", "n_pairs", "controls",
                 "rescale_factor", "dense_prob_other_on_b", "sparse_prob_other_patched", "curve")  # fmt: skip


def steering_results(path: Path) -> list[dict[str, Any]]:
    """`bridge steer` results about this circuit file: the JSON files in `steer/` beside it."""
    out = []
    for f in sorted((path.parent / "steer").glob("*.json")):
        try:
            d = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(d, dict)
            and Path(str(d.get("circuit", ""))).name == path.name
            and isinstance(d.get("curve"), dict)
        ):
            out.append({k: d.get(k) for k in _STEER_FIELDS})
    return out


def pruning_notes(circuit: Circuit) -> list[str]:
    """What the viewer says of the connectivity pass and the stability runs, if the file has them."""
    out = []
    conn = circuit.connectivity
    if conn is not None and conn.dropped:
        done = "dropped" if conn.applied else "kept (without them the circuit missed the target)"
        out.append(
            f"Connectivity: {conn.dropped} nodes had no path of kept nodes from the input to the "
            f"logits and were {done}; held-out loss {conn.loss_before:.4f} with them, "
            f"{conn.loss_after:.4f} without."
        )
    st = circuit.stability
    if st is not None:
        losses = ", ".join(f"{a} {v:.4f}" for a, v in st.core_loss.items())
        verdict = "meets" if st.core_sufficient else "misses"
        out.append(
            f"Stability over {len(st.seeds)} seeds (sizes {', '.join(map(str, st.nodes))}): "
            f"{len(st.core)} nodes are kept in at least {st.core_threshold:.0%} of the runs (the "
            f"core); the core alone {verdict} the target ({losses}). Node shading: keep rate."
        )
    return out


def imported_notes(circuit: Circuit) -> list[str]:
    """What the viewer says of a circuit imported from the paper authors' files (none for ours)."""
    imp = circuit.extra.get("imported")
    if not isinstance(imp, dict):
        return []
    stored = imp.get("losses_as_stored") or {}
    theirs = ", ".join(
        f"{k} {v:.4g}" for k, v in stored.items() if isinstance(v, int | float) and k != "note"
    )
    out = [
        f"Imported from the authors' {imp.get('file', 'file')}. Nodes are theirs; edges are "
        "recounted from the weights and losses measured by sparsecircuits on its own task pairs."
    ]
    if theirs:
        out.append(f"Their stored losses (twice the per-prompt mean, their prompts): {theirs}.")
    final = imp.get("final_resid_nodes") or []
    if final:
        out.append(
            f"{len(final)} final_resid nodes of theirs are not applied here (the final residual "
            "is not a node site in sparsecircuits; it stays whole)."
        )
    return out


def build_payload(
    views: list[dict[str, Any]], title: str = "sparsecircuits report"
) -> dict[str, Any]:
    """The whole page's data: title, version, time, circuits."""
    return {
        "title": title,
        "version": __version__,
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "circuits": views,
    }
