"""The registry of validation checks: each is one function from a `CheckContext` to a `CheckRecord`.

Adding a check is one function under `@check("name")`; the registry's order is the order checks
run and are printed (the expensive controls last), and `--checks` accepts every registered name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.circuit import CheckRecord, Circuit
from sparsecircuits.core.data import TaskData, task_data
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import Keep, complement, count, keep_from_ids, random_like
from sparsecircuits.core.nodes import stochastic_draws as draw_subsets
from sparsecircuits.core.stats import ActivationStats, load_or_compute_stats
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.validate import verdicts
from sparsecircuits.validate.config import ValidationConfig

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import TaskLike
    from sparsecircuits.tasks.loss import TaskBatch
    from sparsecircuits.train.checkpoint import Run


@dataclass
class CheckContext:
    """Everything a check may use: the circuit, its run and task, held-out pairs, settings, shared caches."""

    circuit: Circuit
    path: Path
    run: Run
    task: TaskLike
    prune: PruneConfig  # the circuit's pruning settings
    cfg: ValidationConfig
    seed: int
    corpus_dir: Path | None = None
    progress: bool = True

    @property
    def model(self) -> SparseGPT:
        """The run's model (eval mode)."""
        return self.run.model

    @property
    def target(self) -> float:
        """The circuit's target loss."""
        return self.circuit.target_loss

    @cached_property
    def data(self) -> TaskData:
        """The held-out pairs pruning measured the circuit on (and its train pairs, for fitting)."""
        return task_data(
            self.task,
            self.run.tokenizer,
            self.model,
            n_train=max(1, self.cfg.binarise_fit_pairs),
            n_heldout=self.circuit.task.n_heldout or self.prune.n_heldout,
            seed=self.circuit.task.seed,
            max_len=self.prune.max_len,
        )

    @cached_property
    def heldout(self) -> TaskBatch:
        """The held-out pairs as one batch."""
        return self.data.batch("heldout")

    @cached_property
    def keep(self) -> Keep:
        """The circuit's nodes as keep masks (checked against the model once)."""
        from sparsecircuits.core.nodes import site_widths

        return keep_from_ids(site_widths(self.model), self.circuit.node_ids, str(self.path))

    @cached_property
    def stats(self) -> ActivationStats:
        """Mean and resample statistics of the real model, shared with pruning through the cache."""
        return load_or_compute_stats(self.run, self.prune.stats_settings(), self.corpus_dir)

    def loss(self, keep: Keep | None, ablation: str, seed: int | None = None) -> float:
        """Held-out task loss with the nodes outside `keep` ablated by `ablation`."""
        stats = self.stats if ablation != "zero" else None
        ablator = Ablator.of(ablation, stats, self.seed if seed is None else seed)
        return evaluate(self.model, self.heldout, keep, ablator, chunk=self.cfg.batch_size).loss

    @cached_property
    def full_loss(self) -> float:
        """The whole model's held-out loss."""
        return self.loss(None, "mean")


CheckFn = Callable[[CheckContext], CheckRecord]
REGISTRY: dict[str, CheckFn] = {}


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check under `name` (the order of registration is the order of running)."""

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} is registered twice")
        REGISTRY[name] = fn
        return fn

    return register


@check("sufficiency")
def sufficiency(ctx: CheckContext) -> CheckRecord:
    """The circuit alone, the rest mean- and resample-ablated."""
    rec = verdicts.judge_sufficiency(
        ctx.loss(ctx.keep, "mean"), ctx.loss(ctx.keep, "resample"), ctx.target, ctx.cfg
    )
    # For reference only: a random node set of the same size, mean-ablated elsewhere.
    rec.values["loss_random_same_size"] = verdicts.round_loss(
        ctx.loss(random_like(ctx.keep, ctx.seed), "mean")
    )
    reported = ctx.circuit.losses.circuit
    if (
        ctx.circuit.ablation == "mean"
        and abs(reported - float(rec.values["loss_mean"] or 0)) > 1e-3
    ):
        rec.values["note"] = (
            f"pruning reported {reported:.4f} for this circuit; the held-out pairs or the mean "
            "activations changed since (task generator, corpus or cache)"
        )
    if ctx.circuit.ablation == "zero":
        rec.values["loss_zero"] = verdicts.round_loss(ctx.loss(ctx.keep, "zero"))
    return rec


@check("necessity")
def necessity(ctx: CheckContext) -> CheckRecord:
    """Only the circuit mean-ablated, the rest kept."""
    return verdicts.judge_necessity(ctx.loss(complement(ctx.keep), "mean"), ctx.full_loss, ctx.cfg)


@check("stochastic")
def stochastic(ctx: CheckContext) -> CheckRecord:
    """The circuit kept, a random share of the other nodes resampled, many draws."""
    draws = draw_subsets(ctx.keep, ctx.cfg.stochastic_draws, ctx.cfg.stochastic_fraction, ctx.seed)
    bar = tqdm(
        draws, desc="stochastic ablation", unit="draw", disable=not ctx.progress, leave=False
    )
    losses = [ctx.loss(complement(d), "resample", ctx.seed + i) for i, d in enumerate(bar)]
    return verdicts.judge_stochastic(losses, ctx.target, ctx.cfg)


@check("binarisation")
def binarisation(ctx: CheckContext) -> CheckRecord:
    """Every circuit node a two-level step function."""
    from sparsecircuits.validate.binarise import binarise_circuit

    c_loss, b_loss, per_node = binarise_circuit(
        ctx.model,
        ctx.keep,
        ctx.data.batch("train"),
        ctx.heldout,
        means=ctx.stats.means,
        fractions=ctx.cfg.binarise_fractions,
        batch_size=ctx.cfg.batch_size,
    )
    rec = verdicts.judge_binarisation(b_loss, c_loss, ctx.target, ctx.cfg, count(ctx.keep))
    rec.values["per_node"] = per_node
    return rec


def _control(ctx: CheckContext, kind: str, res: object) -> CheckRecord:
    from sparsecircuits.validate.controls import ControlResult

    assert isinstance(res, ControlResult)
    rec = verdicts.judge_control(
        kind=kind,
        reached_target=res.reached_target,
        nodes=res.nodes,
        edges=res.edges,
        real_nodes=count(ctx.keep),
        real_edges=ctx.circuit.counts.edges,
        full_model_loss=res.full_model_loss,
        achieved_loss=res.achieved_loss,
        reason=res.reason,
        cfg=ctx.cfg,
    )
    rec.values["prunings"] = res.prunings
    if "search" in ctx.circuit.hyperparameters:
        rec.values["note"] = (
            f"the real circuit came from a hyperparameter search of {res.prunings} trials; the "
            f"control was pruned {res.prunings} times with its chosen settings (seeds "
            f"{ctx.prune.seed}..{ctx.prune.seed + res.prunings - 1}), the best kept"
        )
    elif res.prunings > 1:
        rec.values["note"] = (
            f"as the real circuit's {res.prunings} stability seeds: the control was pruned "
            f"{res.prunings} times, the smallest result kept"
        )
    return rec


@check("control_random_init")
def control_random_init(ctx: CheckContext) -> CheckRecord:
    """The task pruned on a random-init model of the same shape and weight sparsity."""
    from sparsecircuits.validate import controls

    budget = controls.search_budget(ctx.circuit)
    res = controls.control_random_init(
        ctx.run, ctx.task, ctx.prune, ctx.seed, ctx.progress, ctx.corpus_dir, budget
    )
    return _control(
        ctx, f"random-init model (seed {ctx.seed}), same config and weight sparsity", res
    )


@check("control_shuffled")
def control_shuffled(ctx: CheckContext) -> CheckRecord:
    """The label-shuffled task pruned on the real model."""
    from sparsecircuits.validate import controls

    stats = ctx.stats if ctx.prune.ablation != "zero" else None
    res = controls.control_shuffled(
        ctx.run, ctx.task, ctx.prune, stats, ctx.progress, controls.search_budget(ctx.circuit)
    )
    return _control(ctx, f"task {ctx.task.name}__shuffled on the real model", res)


# The built-in checks, in order (a check registered later runs after them).
CHECKS: tuple[str, ...] = tuple(REGISTRY)
