"""From a model and a task to a Circuit: full-model check, mask training, bisection, edges, losses."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

import torch
from tqdm import tqdm

from sparsecircuits.errors import UserError
from sparsecircuits.prune.ablation import Ablator, batch_logits
from sparsecircuits.prune.bisect import bisect_size, rank_nodes
from sparsecircuits.prune.calibrate import calibrated_loss, fit_calibration
from sparsecircuits.prune.circuit import SCHEMA_VERSION, Circuit, weights_of_edges
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.edges import count_edges
from sparsecircuits.prune.means import ActivationStats, load_or_compute_stats
from sparsecircuits.prune.nodes import Keep, flat_to_keep, parse_node_id, site_widths, split_site
from sparsecircuits.prune.optimize import crop, train_masks


class TargetUnreachable(UserError):
    """The whole model misses the target loss on a task, so no circuit can meet it."""


@dataclasses.dataclass
class SearchResult:
    """What find_circuit found: the kept nodes and the numbers behind them."""

    keep: Keep
    tau: torch.Tensor
    losses: dict[str, Any]
    nodes: list[dict[str, Any]]
    edges: list[tuple[str, str, float]]
    curve: list[dict[str, Any]]
    train_log: list[dict[str, float]]


def _loss_acc(logits: torch.Tensor, batch: Any) -> tuple[float, float]:
    from sparsecircuits.tasks import task_accuracy, task_loss

    return float(task_loss(logits, batch.target, batch.other)), float(
        task_accuracy(logits, batch.target, batch.other)
    )


@dataclasses.dataclass
class SizeSearch:
    """Mask training plus bisection on the learned node ranking."""

    k: int | None  # smallest number of kept nodes meeting the target; None if none does
    seen: dict[int, float]  # held-out loss at every size the bisection tried
    tau: torch.Tensor
    train_log: list[dict[str, float]]
    keep_top: Callable[[int], Keep]  # the k highest-ranked nodes as a Keep


def search_size(
    model: torch.nn.Module,
    train_pairs: list[Any],
    heldout: Any,
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
        logits = batch_logits(model, heldout, keep_top(k), ablator(), cfg.eval_batch_size)
        return _loss_acc(logits, heldout)[0]

    k, seen = bisect_size(loss_at, n_total, int((tau >= 0).sum()), cfg.target_loss)
    return SizeSearch(k, seen, tau, log, keep_top)


def find_circuit(
    model: torch.nn.Module,
    train_pairs: list[Any],
    heldout_pairs: list[Any],
    pad_id: int,
    cfg: PruneConfig,
    stats: ActivationStats | None = None,
    progress: bool = True,
    task_name: str = "task",
) -> SearchResult:
    """Prune `model` to the smallest node set meeting `cfg.target_loss` on the held-out pairs."""
    from sparsecircuits.tasks import TaskBatch

    model.eval()
    widths = site_widths(model)
    means = stats.means if stats else None
    bank = stats.bank if stats else None

    def ablator() -> Ablator:
        # a fresh, equally seeded ablator per evaluation: every k sees the same resample draws
        return Ablator(cfg.ablation, means, bank, cfg.seed)

    heldout = crop(TaskBatch.from_pairs(heldout_pairs, pad_id))
    full_logits = batch_logits(model, heldout, {}, ablator(), cfg.eval_batch_size)
    full_loss, full_acc = _loss_acc(full_logits, heldout)
    if not full_loss <= cfg.target_loss:
        raise TargetUnreachable(
            f"the full model's held-out loss on {task_name} is {full_loss:.4f}, above the target "
            f"{cfg.target_loss}; raise --target-loss above {full_loss:.3f} or train the model longer"
        )

    size = search_size(model, train_pairs, heldout, pad_id, widths, ablator, cfg, progress)
    tau, log, seen = size.tau, size.train_log, size.seen
    k = size.k if size.k is not None else tau.numel()  # unreachable: all nodes = the full model
    keep = size.keep_top(k)
    logits = batch_logits(model, heldout, keep, ablator(), cfg.eval_batch_size)
    c_loss, c_acc = _loss_acc(logits, heldout)

    calib = None
    c_loss_cal = None
    if cfg.calibrate:
        # fitted on training pairs, reported on held-out ones
        fit_pairs = train_pairs[: len(heldout_pairs)]
        fit_batch = crop(TaskBatch.from_pairs(fit_pairs, pad_id))
        fit_logits = batch_logits(model, fit_batch, keep, ablator(), cfg.eval_batch_size)
        scale, shift = fit_calibration(
            fit_logits, fit_batch.target, fit_batch.other, cfg.calibration_steps
        )
        calib = {"scale": scale, "shift": shift}
        c_loss_cal = calibrated_loss(logits, heldout.target, heldout.other, scale, shift)

    flat_keep = torch.cat([keep[s] for s in widths])
    kept_idx = torch.nonzero(flat_keep).flatten().tolist()
    # node ids in site order, matching the flat tau layout
    all_ids = [f"{s}:{i}" for s, w in widths.items() for i in range(w)]
    nodes: list[dict[str, Any]] = []
    # per-node deltas on a slice of the held-out pairs: one forward per kept node
    delta_batch = crop(TaskBatch.from_pairs(heldout_pairs[: max(1, cfg.delta_pairs)], pad_id))
    delta_base = 0.0
    if cfg.node_deltas and kept_idx:
        delta_base = _loss_acc(
            batch_logits(model, delta_batch, keep, ablator(), cfg.eval_batch_size), delta_batch
        )[0]
    show = progress and cfg.node_deltas
    for j in tqdm(kept_idx, desc="node deltas", unit="node", disable=not show, leave=False):
        nid = all_ids[j]
        site, index = parse_node_id(nid)
        layer, local = split_site(site)
        delta = None
        if cfg.node_deltas:
            k2 = {s: m.clone() for s, m in keep.items()}
            k2[site][index] = False
            logits_j = batch_logits(model, delta_batch, k2, ablator(), cfg.eval_batch_size)
            delta = _loss_acc(logits_j, delta_batch)[0] - delta_base
        nodes.append(
            {
                "id": nid,
                "layer": layer,
                "site": local,
                "index": index,
                "tau": float(tau[j]),
                "ablation_delta": delta,
            }
        )
    losses = {
        "full_model": full_loss,
        "full_model_accuracy": full_acc,
        "circuit": c_loss,
        "circuit_accuracy": c_acc,
        "circuit_calibrated": c_loss_cal,
        "calibration": calib,
    }
    curve = [{"nodes": kk, "loss": seen[kk]} for kk in sorted(seen)]
    return SearchResult(keep, tau, losses, nodes, count_edges(model, keep), curve, log)


def _model_config(run: Any) -> dict[str, Any]:
    cfg = getattr(run.model, "config", None)
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    if cfg is not None and dataclasses.is_dataclass(cfg):
        return dataclasses.asdict(cfg)
    model_cfg = getattr(getattr(run, "config", None), "model", None)
    return (
        dataclasses.asdict(model_cfg)
        if model_cfg is not None and dataclasses.is_dataclass(model_cfg)
        else {}
    )


def load_stats(run: Any, cfg: PruneConfig, corpus_dir: Any = None) -> ActivationStats | None:
    """The ablation statistics `cfg.ablation` needs (None for zero ablation)."""
    if cfg.ablation == "zero":
        return None
    return load_or_compute_stats(
        run,
        n_tokens=cfg.mean_tokens,
        seed=cfg.mean_seed,
        seq_len=cfg.mean_seq_len,
        bank_size=cfg.bank_size,
        corpus_dir=corpus_dir,
        split=cfg.mean_split,
    )


def prune_task(
    run: Any,
    task_name: str,
    cfg: PruneConfig,
    stats: ActivationStats | None = None,
    progress: bool = True,
    corpus_dir: Any = None,
) -> Circuit:
    """Extract the circuit of one task from a loaded run (see `sparsecircuits.train.load_run`)."""
    from sparsecircuits.tasks import get_task

    t0 = time.perf_counter()
    task = get_task(task_name)
    tok = run.tokenizer
    max_len = min(cfg.max_len, int(getattr(run.model.config, "block_size", cfg.max_len)))
    train_pairs = task.pairs(tok, cfg.n_train, split="train", seed=cfg.seed, max_len=max_len)
    heldout_pairs = task.pairs(tok, cfg.n_heldout, split="heldout", seed=cfg.seed, max_len=max_len)
    if stats is None:
        stats = load_stats(run, cfg, corpus_dir)
    res = find_circuit(
        run.model,
        train_pairs,
        heldout_pairs,
        tok.eot_id,
        cfg,
        stats,
        progress=progress,
        task_name=task_name,
    )
    widths = site_widths(run.model)
    return Circuit(
        schema_version=SCHEMA_VERSION,
        model={
            "run": str(run.path),
            "weights_sha256": run.weights_sha256,
            "config": _model_config(run),
        },
        task={
            "name": task.name,
            "description": task.description,
            "class_pos": task.class_pos,
            "class_neg": task.class_neg,
            "n_train": len(train_pairs),
            "n_heldout": len(heldout_pairs),
            "seed": cfg.seed,
        },
        ablation=cfg.ablation,
        seed=cfg.seed,
        target_loss=cfg.target_loss,
        losses=res.losses,
        nodes=res.nodes,
        edges=weights_of_edges(res.edges),
        counts={
            "nodes": len(res.nodes),
            "edges": len(res.edges),
            "model_nodes": sum(widths.values()),
        },
        curve=res.curve,
        hyperparameters=cfg.to_dict(),
        time_seconds=round(time.perf_counter() - t0, 3),
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
