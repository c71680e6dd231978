"""Controls (Drori 2026): prune a random-init model and a label-shuffled task with the same settings.

If the mask optimiser can build an equally small "circuit" where there is nothing to find, the
real circuit's smallness proves little. Unlike `prune_task`, a control is pruned even when its
full model misses the target: masking plus ablation can compute things the full model does not.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import torch

from sparsecircuits.prune.ablation import Ablator, batch_logits
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.edges import count_edges
from sparsecircuits.prune.means import ActivationStats
from sparsecircuits.prune.nodes import site_widths
from sparsecircuits.prune.optimize import crop
from sparsecircuits.prune.pipeline import load_stats, search_size


@dataclasses.dataclass
class ControlResult:
    """How small a circuit pruning finds on a control, or why it finds none."""

    reached_target: bool
    nodes: int | None
    edges: int | None
    full_model_loss: float
    achieved_loss: float | None
    reason: str | None


def _loss(logits: torch.Tensor, batch: Any) -> float:
    from sparsecircuits.tasks import task_loss

    return float(task_loss(logits, batch.target, batch.other))


def prune_control(
    model: torch.nn.Module,
    tokenizer: Any,
    task_name: str,
    cfg: PruneConfig,
    stats: ActivationStats | None,
    progress: bool = True,
) -> ControlResult:
    """Train masks and bisect exactly as pruning does (`search_size`), without the full-model gate."""
    from sparsecircuits.tasks import TaskBatch, get_task

    task = get_task(task_name)
    train_pairs = task.pairs(
        tokenizer, cfg.n_train, split="train", seed=cfg.seed, max_len=cfg.max_len
    )
    heldout_pairs = task.pairs(
        tokenizer, cfg.n_heldout, split="heldout", seed=cfg.seed, max_len=cfg.max_len
    )
    pad = tokenizer.eot_id
    means = stats.means if stats else None
    bank = stats.bank if stats else None

    def ablator() -> Ablator:
        return Ablator(cfg.ablation, means, bank, cfg.seed)

    model.eval()
    widths = site_widths(model)
    heldout = crop(TaskBatch.from_pairs(heldout_pairs, pad))
    full = _loss(batch_logits(model, heldout, {}, ablator(), cfg.eval_batch_size), heldout)
    size = search_size(model, train_pairs, heldout, pad, widths, ablator, cfg, progress)
    k, seen = size.k, size.seen
    if k is None:
        best_k = min(seen, key=seen.__getitem__)
        return ControlResult(
            False,
            None,
            None,
            full,
            None,
            f"no node set on the learned ranking reaches {cfg.target_loss:g} "
            f"(best {seen[best_k]:.3f} at {best_k} nodes; full model {full:.3f})",
        )
    keep = size.keep_top(k)
    return ControlResult(True, k, len(count_edges(model, keep)), full, seen[k], None)


def random_init_model(run: Any, seed: int) -> torch.nn.Module:
    """A freshly initialised model of the run's config, projected to the run's weight sparsity."""
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.train.sparsity import project_to_sparsity

    mcfg = dataclasses.replace(run.config.model)
    model = SparseGPT(mcfg, seed=seed)
    tcfg = run.config.train
    project_to_sparsity(model, tcfg.target_fraction, tcfg.min_row_nonzeros, tcfg)
    device = next(run.model.parameters()).device
    return model.to(device).eval()


def control_random_init(
    run: Any,
    task_name: str,
    cfg: PruneConfig,
    seed: int,
    progress: bool = True,
    corpus_dir: str | Path | None = None,
) -> ControlResult:
    """Prune `task_name` on a random-init model of the run's shape and sparsity (own means)."""
    from sparsecircuits.train.checkpoint import Run

    model = random_init_model(run, seed)
    with tempfile.TemporaryDirectory(prefix="sparsecircuits-control-") as tmp:
        # A throwaway run folder, so the control's means never touch the real run's cache.
        fake = Run(
            model=model,
            tokenizer=run.tokenizer,
            config=run.config,
            path=Path(tmp),
            weights_sha256=f"random-init-seed-{seed}",
            corpus_dir=run.corpus_dir,
        )
        stats = load_stats(fake, cfg, corpus_dir or run.corpus_dir)
        return prune_control(model, run.tokenizer, task_name, cfg, stats, progress)


def control_shuffled(
    run: Any, task_name: str, cfg: PruneConfig, stats: ActivationStats | None, progress: bool = True
) -> ControlResult:
    """Prune the label-shuffled variant of the task on the real model."""
    return prune_control(run.model, run.tokenizer, f"{task_name}__shuffled", cfg, stats, progress)
