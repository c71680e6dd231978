"""Stability: prune one task with several seeds (each with its own pairs) and see which nodes recur.

A node every run keeps is part of what the model does; a node only one seed keeps is as likely
the optimiser's choice among equivalent ones. The core (nodes kept in at least
`stability_threshold` of the runs) is measured on its own: if it alone meets the target, the
circuit's essential part does not depend on the seed.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.circuit import Circuit, Stability
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import ids_from_keep, keep_from_ids, site_widths
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.pipeline import prune_task, pruning_data

if TYPE_CHECKING:
    from sparsecircuits.core.stats import ActivationStats
    from sparsecircuits.tasks.base import TaskLike
    from sparsecircuits.train.checkpoint import Run

# The core is also scored under these, whatever the objective was.
CORE_ABLATIONS = ("mean", "resample")


def prune_seeds(
    run: Run,
    task: TaskLike,
    cfg: PruneConfig,
    stats: ActivationStats | None,
    progress: bool = True,
) -> Circuit:
    """The circuit of seed `cfg.seed`, carrying the stability record of `cfg.seeds` runs."""
    runs: list[Circuit] = []
    for i in range(cfg.seeds):
        if progress:
            print(f"{task.name}: seed {cfg.seed + i} ({i + 1} of {cfg.seeds})", file=sys.stderr)
        one = cfg.replace(seed=cfg.seed + i, seeds=1)
        runs.append(prune_task(run, task, one, stats=stats, progress=progress))
    base = runs[0]
    kept = Counter(n for c in runs for n in c.node_ids)
    widths = site_widths(run.model)
    every = ids_from_keep(keep_from_ids(widths, kept))  # forward order
    fraction = {n: round(kept[n] / len(runs), 6) for n in every}
    core = [n for n in every if fraction[n] >= cfg.stability_threshold]
    data = pruning_data(task, run.tokenizer, run.model, cfg)
    heldout = data.batch("heldout")
    core_keep = keep_from_ids(widths, core)
    core_loss = {}
    for a in dict.fromkeys((*CORE_ABLATIONS, cfg.ablation)):
        if a != "zero" and stats is None:
            continue
        res = evaluate(
            run.model, heldout, core_keep, Ablator.of(a, stats, cfg.seed), chunk=cfg.eval_batch_size
        )
        core_loss[a] = round(res.loss, 6)
    base.stability = Stability(
        seeds=[cfg.seed + i for i in range(cfg.seeds)],
        nodes=[c.counts.nodes for c in runs],
        losses=[round(c.losses.circuit, 6) for c in runs],
        node_fraction=fraction,
        core_threshold=cfg.stability_threshold,
        core=core,
        core_loss=core_loss,
        core_sufficient=core_loss.get(cfg.ablation, float("inf")) <= cfg.target_loss,
    )
    base.hyperparameters = cfg.to_dict()
    base.time_seconds = round(sum(c.time_seconds for c in runs), 3)
    return base
