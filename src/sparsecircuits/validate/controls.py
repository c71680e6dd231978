"""Controls (Drori 2026): prune a random-init model and a label-shuffled task with the same settings.

If the mask optimiser can build an equally small "circuit" where there is nothing to find, the
real circuit's smallness proves little. Unlike `prune_task`, a control is pruned even when its
full model misses the target: masking plus ablation can compute things the full model does not.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import site_widths
from sparsecircuits.core.stats import ActivationStats
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.edges import count_edges
from sparsecircuits.prune.pipeline import pruning_data, search_size

if TYPE_CHECKING:
    from sparsecircuits.core.circuit import Circuit
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import TaskLike
    from sparsecircuits.train.checkpoint import Run


@dataclasses.dataclass
class ControlResult:
    """How small a circuit pruning finds on a control, or why it finds none."""

    reached_target: bool
    nodes: int | None
    edges: int | None
    full_model_loss: float
    achieved_loss: float | None
    reason: str | None
    prunings: int = 1  # seeds tried (the real circuit's budget); the best result is kept


def search_budget(circuit: Circuit) -> int:
    """How many prunings the real circuit cost: its stability seeds or search trials (else 1)."""
    if circuit.stability is not None:
        return len(circuit.stability.seeds)
    search = circuit.hyperparameters.get("search")
    trials = search.get("trials") if isinstance(search, dict) else None
    return int(trials) if isinstance(trials, int) and trials > 0 else 1


def best_of(results: list[ControlResult]) -> ControlResult:
    """The smallest circuit any seed found (fewest edges, then nodes), else the first seed's miss."""
    reached = [r for r in results if r.reached_target]
    best = min(reached, key=lambda r: (r.edges or 0, r.nodes or 0)) if reached else results[0]
    return dataclasses.replace(best, prunings=len(results))


def prune_control(
    model: SparseGPT,
    tokenizer: Tokenizer,
    task: TaskLike,
    cfg: PruneConfig,
    stats: ActivationStats | None,
    progress: bool = True,
    budget: int = 1,
) -> ControlResult:
    """Prune the control `budget` times (seeds cfg.seed, cfg.seed + 1, ...), keeping the best."""
    return best_of(
        [
            _prune_control_once(
                model, tokenizer, task, cfg.replace(seed=cfg.seed + i), stats, progress
            )
            for i in range(budget)
        ]
    )


def _prune_control_once(
    model: SparseGPT,
    tokenizer: Tokenizer,
    task: TaskLike,
    cfg: PruneConfig,
    stats: ActivationStats | None,
    progress: bool = True,
) -> ControlResult:
    """Train masks and bisect exactly as pruning does (`search_size`), without the full-model gate."""
    data = pruning_data(task, tokenizer, model, cfg)

    def ablator() -> Ablator:
        return Ablator.of(cfg.ablation, stats, cfg.seed)

    model.eval()
    widths = site_widths(model)
    heldout = data.batch("heldout")
    full = evaluate(model, heldout, None, ablator(), chunk=cfg.eval_batch_size).loss
    size = search_size(model, data.train, heldout, data.pad_id, widths, ablator, cfg, progress)
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


def random_init_model(run: Run, seed: int) -> SparseGPT:
    """A freshly initialised model of the run's config, projected to the run's weight sparsity."""
    from sparsecircuits.model import SparseGPT, sparse_exec
    from sparsecircuits.train.sparsity import project_to_sparsity

    mcfg = dataclasses.replace(run.config.model)
    model = SparseGPT(mcfg, seed=seed)
    tcfg = run.config.train
    project_to_sparsity(model, tcfg.target_fraction, tcfg.min_row_nonzeros, tcfg)
    device = next(run.model.parameters()).device
    model.set_sparse_execution(sparse_exec.current_mode())  # frozen, like a loaded run
    return model.to(device).eval()


def control_random_init(
    run: Run,
    task: TaskLike,
    cfg: PruneConfig,
    seed: int,
    progress: bool = True,
    corpus_dir: str | Path | None = None,
    budget: int = 1,
) -> ControlResult:
    """Prune `task` on a random-init model of the run's shape and sparsity (with its own statistics)."""
    from sparsecircuits.core.stats import load_or_compute_stats

    model = random_init_model(run, seed)
    fake = dataclasses.replace(run, model=model, weights_sha256=f"random-init-seed-{seed}")
    # not cached: the throwaway model's statistics are cheap and must never shadow a real model's
    stats = (
        load_or_compute_stats(fake, cfg.stats_settings(), corpus_dir, use_cache=False)
        if cfg.ablation != "zero"
        else None
    )
    return prune_control(model, run.tokenizer, task, cfg, stats, progress, budget)


def control_shuffled(
    run: Run,
    task: TaskLike,
    cfg: PruneConfig,
    stats: ActivationStats | None,
    progress: bool = True,
    budget: int = 1,
) -> ControlResult:
    """Prune the label-shuffled variant of the task on the real model."""
    from sparsecircuits.tasks.base import ShuffledTask

    return prune_control(run.model, run.tokenizer, ShuffledTask(task), cfg, stats, progress, budget)
