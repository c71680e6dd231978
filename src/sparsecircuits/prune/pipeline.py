"""From a model and a task to a Circuit: full-model check, mask training, bisection, edges, losses."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

from sparsecircuits.core.ablation import Ablator
from sparsecircuits.core.circuit import (
    SCHEMA_VERSION,
    Circuit,
    Connectivity,
    Counts,
    CurvePoint,
    EdgeRecord,
    FaithfulnessCurve,
    Losses,
    ModelRef,
    NodeRecord,
    TaskRef,
)
from sparsecircuits.core.data import TaskData, task_data
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import Keep, count, flat_to_keep, parse_node_id, site_widths
from sparsecircuits.core.stats import ActivationStats, load_or_compute_stats
from sparsecircuits.errors import UserError
from sparsecircuits.prune.bisect import bisect_size, rank_nodes
from sparsecircuits.prune.calibrate import calibrated_loss, fit_calibration
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.connect import connected_nodes
from sparsecircuits.prune.edges import count_edges
from sparsecircuits.prune.faithfulness import faithfulness_curve
from sparsecircuits.prune.optimize import train_masks

if TYPE_CHECKING:
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import Pair, TaskLike
    from sparsecircuits.tasks.loss import TaskBatch
    from sparsecircuits.train.checkpoint import Run


class TargetUnreachable(UserError):
    """The whole model misses the target loss on a task, so no circuit can meet it."""


@dataclasses.dataclass
class SearchResult:
    """What find_circuit found: the kept nodes and the numbers behind them."""

    keep: Keep
    tau: torch.Tensor
    losses: Losses
    nodes: list[NodeRecord]
    edges: list[EdgeRecord]
    curve: list[CurvePoint]
    train_log: list[dict[str, float]]
    faithfulness: FaithfulnessCurve | None = None
    connectivity: Connectivity | None = None


@dataclasses.dataclass
class SizeSearch:
    """Mask training plus bisection on the learned node ranking."""

    k: int | None  # smallest number of kept nodes meeting the target; None if none does
    seen: dict[int, float]  # held-out loss at every size the bisection tried
    tau: torch.Tensor
    train_log: list[dict[str, float]]
    keep_top: Callable[[int], Keep]  # the k highest-ranked nodes as a Keep


def search_size(
    model: SparseGPT,
    train_pairs: list[Pair],
    heldout: TaskBatch,
    pad_id: int,
    widths: dict[str, int],
    ablator: Callable[[], Ablator],
    cfg: PruneConfig,
    progress: bool = True,
) -> SizeSearch:
    """Learn node masks on `train_pairs`, rank nodes by tau, bisect on the held-out batch."""
    tau, log = train_masks(model, train_pairs, pad_id, widths, ablator(), cfg, progress=progress)
    order = rank_nodes(tau)
    n_total = tau.numel()

    def keep_top(k: int) -> Keep:
        flat = torch.zeros(n_total, dtype=torch.bool)
        flat[order[:k]] = True
        return flat_to_keep(widths, flat)

    def loss_at(k: int) -> float:
        return evaluate(model, heldout, keep_top(k), ablator(), chunk=cfg.eval_batch_size).loss

    k, seen = bisect_size(loss_at, n_total, int((tau >= 0).sum()), cfg.target_loss)
    return SizeSearch(k, seen, tau, log, keep_top)


def find_circuit(
    model: SparseGPT,
    data: TaskData,
    cfg: PruneConfig,
    stats: ActivationStats | None = None,
    progress: bool = True,
) -> SearchResult:
    """Prune `model` to the smallest node set meeting `cfg.target_loss` on the held-out pairs."""
    model.eval()
    widths = site_widths(model)

    def ablator() -> Ablator:
        # a fresh, equally seeded ablator per evaluation: every k sees the same resample draws
        return Ablator.of(cfg.ablation, stats, cfg.seed)

    heldout = data.batch("heldout")
    full = evaluate(model, heldout, None, ablator(), chunk=cfg.eval_batch_size)
    full_loss = full.loss
    if not full_loss <= cfg.target_loss:
        raise TargetUnreachable(
            f"the full model's held-out loss on {data.task.name} is {full_loss:.4f}, above the target "
            f"{cfg.target_loss}; raise --target-loss above {full_loss:.3f} or train the model longer"
        )

    size = search_size(model, data.train, heldout, data.pad_id, widths, ablator, cfg, progress)
    tau, log, seen = size.tau, size.train_log, size.seen
    k = size.k if size.k is not None else tau.numel()  # unreachable: all nodes = the full model
    keep = size.keep_top(k)
    connectivity = None
    if cfg.connect:
        keep, connectivity = connect(model, heldout, keep, seen.get(k), cfg, stats)
    measured = measure_circuit(
        model, data, keep, cfg, stats, tau, (full.loss, full.accuracy), progress
    )
    curve = [CurvePoint(kk, seen[kk]) for kk in sorted(seen)]
    faithfulness = None
    if cfg.curves:
        faithfulness = faithfulness_curve(
            model,
            heldout,
            size.keep_top,
            tau.numel(),
            count(keep),
            full.loss,
            stats,
            cfg.seed,
            cfg.eval_batch_size,
        )
    return SearchResult(
        keep,
        tau,
        measured.losses,
        measured.nodes,
        measured.edges,
        curve,
        log,
        faithfulness,
        connectivity,
    )


def connect(
    model: SparseGPT,
    heldout: TaskBatch,
    keep: Keep,
    loss: float | None,
    cfg: PruneConfig,
    stats: ActivationStats | None,
) -> tuple[Keep, Connectivity]:
    """`keep` without the nodes no path joins to input and logits, if it still meets the target."""
    from sparsecircuits.core.nodes import ids_from_keep, keep_from_ids

    ids = ids_from_keep(keep)
    alive = connected_nodes(model, ids)
    conn = keep_from_ids(site_widths(model), alive)
    dropped = sorted(set(ids) - set(alive))

    def score(k: Keep) -> float:
        ablator = Ablator.of(cfg.ablation, stats, cfg.seed)
        return evaluate(model, heldout, k, ablator, chunk=cfg.eval_batch_size).loss

    before = loss if loss is not None else score(keep)
    after = score(conn) if dropped else before
    applied = after <= cfg.target_loss
    record = Connectivity(len(dropped), applied, round(before, 6), round(after, 6), dropped)
    return (conn if applied else keep), record


@dataclasses.dataclass
class Measured:
    """A node set's numbers for the circuit file: losses, per-node records, edges."""

    losses: Losses
    nodes: list[NodeRecord]
    edges: list[EdgeRecord]


def measure_circuit(
    model: SparseGPT,
    data: TaskData,
    keep: Keep,
    cfg: PruneConfig,
    stats: ActivationStats | None,
    tau: torch.Tensor | None = None,
    full: tuple[float, float] | None = None,
    progress: bool = True,
) -> Measured:
    """Held-out losses of the full model and of `keep` (calibrated if `cfg.calibrate`), each kept
    node's ablation delta (if `cfg.node_deltas`) and mask logit (from the flat `tau`, if given),
    and the edges among the kept nodes. Used for pruned and for imported circuits alike."""
    widths = site_widths(model)

    def score(batch: TaskBatch, k: Keep | None) -> tuple[float, float, torch.Tensor]:
        # a fresh, equally seeded ablator per evaluation: every node set sees the same draws
        res = evaluate(
            model, batch, k, Ablator.of(cfg.ablation, stats, cfg.seed), chunk=cfg.eval_batch_size
        )
        return res.loss, res.accuracy, res.logits

    heldout = data.batch("heldout")
    full_loss, full_acc = full if full is not None else score(heldout, None)[:2]
    c_loss, c_acc, logits = score(heldout, keep)
    calib = None
    c_loss_cal = None
    if cfg.calibrate:
        # fitted on training pairs, reported on held-out ones
        fit_batch = data.batch("train", len(data.heldout))
        _, _, fit_logits = score(fit_batch, keep)
        scale, shift = fit_calibration(
            fit_logits, fit_batch.target, fit_batch.other, cfg.calibration_steps
        )
        calib = {"scale": scale, "shift": shift}
        c_loss_cal = calibrated_loss(logits, heldout.target, heldout.other, scale, shift)

    flat_keep = torch.cat([keep[s] for s in widths])
    kept_idx = torch.nonzero(flat_keep).flatten().tolist()
    # node ids in site order, matching the flat tau layout
    all_ids = [f"{s}:{i}" for s, w in widths.items() for i in range(w)]
    nodes: list[NodeRecord] = []
    # per-node deltas on a slice of the held-out pairs: one forward per kept node
    delta_batch = data.batch("heldout", cfg.delta_pairs)
    delta_base = score(delta_batch, keep)[0] if cfg.node_deltas and kept_idx else 0.0
    show = progress and cfg.node_deltas
    for j in tqdm(kept_idx, desc="node deltas", unit="node", disable=not show, leave=False):
        nid = parse_node_id(all_ids[j])
        delta = None
        if cfg.node_deltas:
            k2 = {s: m.clone() for s, m in keep.items()}
            k2[nid.site_name][nid.index] = False
            delta = score(delta_batch, k2)[0] - delta_base
        t = float(tau[j]) if tau is not None else None
        nodes.append(NodeRecord(str(nid), nid.layer, nid.site, nid.index, t, delta))
    losses = Losses(
        full_model=full_loss,
        full_model_accuracy=full_acc,
        circuit=c_loss,
        circuit_accuracy=c_acc,
        circuit_calibrated=c_loss_cal,
        calibration=calib,
    )
    edges = [EdgeRecord(s, d, float(w)) for s, d, w in count_edges(model, keep)]
    return Measured(losses, nodes, edges)


def load_stats(
    run: Run, cfg: PruneConfig, corpus_dir: str | Path | None = None
) -> ActivationStats | None:
    """The ablation statistics `cfg.ablation` needs (None for zero ablation)."""
    if cfg.ablation == "zero":
        return None
    return load_or_compute_stats(run, cfg.stats_settings(), corpus_dir)


def task_ref(task: TaskLike, data: TaskData) -> TaskRef:
    """What a circuit file records of its task (a task file's path and hash included)."""
    source = getattr(task, "source", None)
    return TaskRef(
        name=task.name,
        description=task.description,
        class_pos=task.class_pos,
        class_neg=task.class_neg,
        n_train=len(data.train),
        n_heldout=len(data.heldout),
        seed=data.seed,
        source=str(source.path) if source is not None else None,
        source_sha256=source.sha256 if source is not None else None,
    )


def pruning_data(
    task: TaskLike, tokenizer: Tokenizer, model: SparseGPT, cfg: PruneConfig
) -> TaskData:
    """The task's train and held-out pairs for `model` at the settings of `cfg`."""
    return task_data(
        task,
        tokenizer,
        model,
        n_train=cfg.n_train,
        n_heldout=cfg.n_heldout,
        seed=cfg.seed,
        max_len=cfg.max_len,
    )


def circuit_record(
    run: Run,
    data: TaskData,
    cfg: PruneConfig,
    measured: Measured,
    started: float,
    curve: list[CurvePoint] | None = None,
    extra: dict | None = None,
    faithfulness: FaithfulnessCurve | None = None,
    connectivity: Connectivity | None = None,
) -> Circuit:
    """The circuit file's record of a measured node set of `run` on `data` (pruned or imported)."""
    return Circuit(
        schema_version=SCHEMA_VERSION,
        model=ModelRef(str(run.path), run.weights_sha256, run.model.config.to_dict()),
        task=task_ref(data.task, data),
        ablation=cfg.ablation,
        seed=cfg.seed,
        target_loss=cfg.target_loss,
        losses=measured.losses,
        nodes=measured.nodes,
        edges=measured.edges,
        counts=Counts(
            len(measured.nodes), len(measured.edges), sum(site_widths(run.model).values())
        ),
        curve=curve or [],
        hyperparameters=cfg.to_dict(),
        time_seconds=round(time.perf_counter() - started, 3),
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        extra=extra or {},
        faithfulness=faithfulness,
        connectivity=connectivity,
    )


def prune_task(
    run: Run,
    task: TaskLike | str,
    cfg: PruneConfig,
    stats: ActivationStats | None = None,
    progress: bool = True,
    corpus_dir: str | Path | None = None,
) -> Circuit:
    """Extract the circuit of one task (a task, a name or a `.jsonl` path) from a loaded run."""
    from sparsecircuits.tasks.registry import get_task

    t0 = time.perf_counter()
    task = get_task(task) if isinstance(task, str) else task
    data = pruning_data(task, run.tokenizer, run.model, cfg)
    if stats is None:
        stats = load_stats(run, cfg, corpus_dir)
    res = find_circuit(run.model, data, cfg, stats, progress=progress)
    measured = Measured(res.losses, res.nodes, res.edges)
    return circuit_record(
        run,
        data,
        cfg,
        measured,
        t0,
        curve=res.curve,
        faithfulness=res.faithfulness,
        connectivity=res.connectivity,
    )
