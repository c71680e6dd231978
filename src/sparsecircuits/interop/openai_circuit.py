"""Import the authors' published pruning results (`viz_data.pt`) as sparsecircuits circuit files.

Facts from ../shared/reference/openai_circuit_format.md. Their kept nodes (`circuit_data`, one
index list per site) use our site names and index layout, so they map one to one, except
`final_resid` (the residual before ln_f), which is not a node site here: those nodes are kept
in the file's `imported` record and the residual is left whole. Edges are recounted from the
run's weights by our rule and the losses are measured by our evaluator on our task pairs;
every number of theirs is kept, as stored, under `imported`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import torch

from sparsecircuits.core.circuit import (
    JSON,
    Circuit,
    JSONObject,
    save_circuit,
)
from sparsecircuits.core.nodes import keep_from_ids, node_id, site_widths
from sparsecircuits.errors import UserError
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.pipeline import circuit_record, load_stats, measure_circuit, pruning_data
from sparsecircuits.tasks.base import TaskLike
from sparsecircuits.tensorfile import load_torch_file
from sparsecircuits.train.checkpoint import Run, file_sha256

Say = Callable[[str], None]
FINAL_RESID = "final_resid"
# The top-level fields of their file; only circuit_data is required.
OPTIONAL_FIELDS = ("importances", "samples", "all_loss", "num_total_nodes", "prune_config")
# Their task folders carry a suffix naming their model generation ("_beeg", "_beeg3").
_TASK_SUFFIX = re.compile(r"_beeg\d*$")
STORED_LOSS_NOTE = (
    "the authors' numbers as stored in their file: task losses are twice the per-prompt mean "
    "(their reader halves them for display), measured on their prompts with their mean activations"
)


def plain_json(x: object) -> JSON:
    """Tensors, tuples and numbers of a torch file as JSON values (non-finite floats -> None)."""
    if isinstance(x, torch.Tensor):
        return plain_json(x.tolist())
    if isinstance(x, dict):
        return {
            str(plain_json(k)) if not isinstance(k, str) else k: plain_json(v) for k, v in x.items()
        }
    if isinstance(x, list | tuple):
        return [plain_json(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, bool | int | str):
        return x
    return str(x)


def task_name_from_path(viz_path: Path) -> str | None:
    """The task of `{base}/viz/{model}/{task}/{sweep}/{k}/viz_data.pt`, without their suffix."""
    parts = viz_path.resolve().parts
    if len(parts) < 4:
        return None
    return _TASK_SUFFIX.sub("", parts[-4])


def _kept_indices(site: str, value: object, viz_path: Path) -> list[int]:
    if not isinstance(value, torch.Tensor) or value.dim() > 1 or value.is_floating_point():
        raise UserError(
            f"{viz_path}: circuit_data[{site!r}] is not a 1-D integer tensor of node indices; "
            "re-download the file."
        )
    return [int(i) for i in value.flatten().tolist()]


def _check_shape(run: Run, data: dict, widths: dict[str, int], viz_path: Path) -> None:
    """Refuse a file pruned from a model of another shape than the run's."""
    c = run.model.config
    expected = sum(widths.values()) + c.d_model  # their count includes final_resid
    total = data.get("num_total_nodes")
    if isinstance(total, int) and total != expected:
        raise UserError(
            f"{viz_path} was pruned from a model with {total} nodes, but {run.path} has "
            f"{expected}; pass --run with the model the circuit came from."
        )
    imp = data.get("importances")
    beeg = imp.get("beeg_model_config") if isinstance(imp, dict) else None
    if isinstance(beeg, dict):
        ours = {"n_layer": c.n_layer, "d_model": c.d_model, "n_head": c.n_head, "d_head": c.d_head}
        wrong = [
            f"{k} {beeg[k]} (run: {v})" for k, v in ours.items() if beeg.get(k) not in (None, v)
        ]
        if wrong:
            raise UserError(
                f"{viz_path} comes from a model with {', '.join(wrong)}; pass --run with the "
                "model the circuit came from."
            )


def import_circuit(
    viz_path: Path,
    run: Run,
    out: Path,
    task: TaskLike | None = None,
    cfg: PruneConfig | None = None,
    corpus_dir: Path | None = None,
    say: Say = print,
    progress: bool = True,
) -> Circuit:
    """Turn the authors' `viz_data.pt` into the circuit file `out`, measured on `run` by our rules."""
    from sparsecircuits.tasks.registry import get_task

    t0 = time.perf_counter()
    cfg = cfg or PruneConfig()
    data = load_torch_file(
        viz_path, "circuit file", "pass a viz_data.pt of the authors' pruning results", mmap=False
    )
    circuit_data = data.get("circuit_data") if isinstance(data, dict) else None
    if not isinstance(circuit_data, dict) or not circuit_data:
        raise UserError(
            f"{viz_path} has no circuit_data (the kept nodes), so nothing usable remains; pass a "
            "viz_data.pt of the authors' pruning results."
        )
    missing = [k for k in OPTIONAL_FIELDS if k not in data]
    if missing:
        say(f"warning: {viz_path} has no {', '.join(missing)}; importing what is there")
    widths = site_widths(run.model)
    _check_shape(run, data, widths, viz_path)

    ids: list[str] = []
    final_resid: list[int] = []
    prune_config = data.get("prune_config")
    for site, value in circuit_data.items():
        if site == "prune_config":  # some versions keep it here
            prune_config = prune_config or value
            continue
        if site == FINAL_RESID:
            final_resid = _kept_indices(site, value, viz_path)
        elif site in widths:
            ids += [node_id(site, i) for i in _kept_indices(site, value, viz_path)]
        elif re.fullmatch(r"\d+\.(attn|mlp)\.\w+", str(site)):
            raise UserError(
                f"{viz_path} keeps nodes at site {site!r}, which {run.path} does not have; pass "
                "--run with the model the circuit came from."
            )
        else:
            say(f"warning: circuit_data[{site!r}] is not a site; it is ignored")
    keep = keep_from_ids(widths, ids, str(viz_path))
    if final_resid:
        say(
            f"note: {len(final_resid)} final_resid nodes are recorded but not applied (the "
            "final residual is not a node site in sparsecircuits; it stays whole)"
        )

    if task is None:
        name = task_name_from_path(viz_path)
        try:
            task = get_task(name or "")
        except UserError:
            raise UserError(
                f"cannot tell the task of {viz_path} from its folder ({name!r}); pass --task NAME "
                "(see `sparsecircuits tasks list`) or --task FILE.jsonl."
            ) from None
    pairs = pruning_data(task, run.tokenizer, run.model, cfg)
    stats = load_stats(run, cfg, corpus_dir)
    measured = measure_circuit(run.model, pairs, keep, cfg, stats, progress=progress)

    imp = data.get("importances") if isinstance(data.get("importances"), dict) else {}
    node_losses: dict[str, JSON] = {}
    for site, values in (imp.get("ch_interv_losses") or {}).items():
        kept = circuit_data.get(site)
        if site in widths and isinstance(kept, torch.Tensor) and isinstance(values, list | tuple):
            for i, v in zip(kept.flatten().tolist(), values, strict=False):
                node_losses[node_id(site, int(i))] = plain_json(v)
    all_loss = data.get("all_loss")
    stored_edges = sum(
        int(torch.count_nonzero(p[0]))
        for p in imp.get("pair_data") or []
        if isinstance(p, list | tuple) and p and isinstance(p[0], torch.Tensor)
    )
    imported: JSONObject = {
        "format": "openai circuit_sparsity viz_data.pt",
        "file": str(viz_path),
        "sha256": file_sha256(viz_path),
        "missing_fields": list(missing),
        "final_resid_nodes": list(final_resid),
        "final_resid_applied": False,
        "num_total_nodes": plain_json(data.get("num_total_nodes")),
        "prune_config": plain_json(prune_config),
        "losses_as_stored": {
            "loss": plain_json(imp.get("loss")),
            "interv_loss": plain_json(imp.get("interv_loss")),
            "all_loss_last": plain_json(all_loss[-1][1])
            if isinstance(all_loss, list | tuple) and all_loss
            else None,
            "note": STORED_LOSS_NOTE,
        },
        "node_interv_losses": node_losses,
        "edges_as_stored": stored_edges if imp.get("pair_data") is not None else None,
    }
    circuit = circuit_record(run, pairs, cfg, measured, t0, extra={"imported": imported})
    save_circuit(circuit, out)
    return circuit
