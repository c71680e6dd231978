"""Run a sweep: train or reuse each model, score it on the tasks, prune what it can do, compare kinds.

Everything a step finishes is kept under the sweep folder (`runs/`, `eval/`, `circuits/`) and
reused when the sweep runs again, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits import fileio
from sparsecircuits.errors import UserError
from sparsecircuits.sweep.config import ModelEntry, Sweep

if TYPE_CHECKING:
    from sparsecircuits.prune.config import PruneConfig
    from sparsecircuits.train.checkpoint import Run


@dataclass
class ModelResult:
    """What the sweep measured of one model."""

    name: str
    kind: str
    run: str
    val_loss: float
    nonzero_params: int
    task_loss: dict[str, float]  # held-out task loss per task, at pruning's prompt length
    circuits: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # task -> nodes, edges, loss


def _say(msg: str) -> None:
    print(f"[sweep] {msg}", file=sys.stderr, flush=True)


def last_val_loss(run_dir: Path) -> float:
    """The last held-out loss in a run's metrics.jsonl."""
    val = [
        json.loads(x).get("val_loss")
        for x in (run_dir / "metrics.jsonl").read_text().splitlines()
        if x
    ]
    val = [v for v in val if v is not None]
    if not val:
        raise UserError(
            f"{run_dir}/metrics.jsonl holds no val_loss; train the run to its end first."
        )
    return float(val[-1])


def ensure_run(entry: ModelEntry, sweep: Sweep, out: Path) -> Path:
    """The model's finished run folder: reused if done, else trained (or resumed) into the sweep folder."""
    from sparsecircuits.train import checkpoint as ckpt
    from sparsecircuits.train.config import load_config, resume_config
    from sparsecircuits.train.loop import train

    run_dir = Path(entry.run) if entry.run else out / "runs" / entry.name
    if not entry.config:
        if not (run_dir / ckpt.WEIGHTS_FILE).is_file():
            raise UserError(
                f"model {entry.name}: {run_dir} holds no trained model and no config is given."
            )
        return run_dir
    config = load_config(entry.config, [*entry.set, f"train.corpus={sweep.settings.corpus}"])
    state = run_dir / ckpt.STATE_FILE
    if ckpt.is_finished(run_dir, config.train.steps):
        _say(f"{entry.name}: reusing the trained run {run_dir}")
        return run_dir
    if state.is_file():
        config = resume_config(ckpt.load_run_config(run_dir), config, run_dir / ckpt.CONFIG_FILE)
    _say(f"{entry.name}: training into {run_dir} ({config.train.steps} steps)")
    train(config, run_dir, resume=state.is_file())
    return run_dir


def score_tasks(name: str, run: Run, tasks: list[str], n: int, out: Path) -> dict[str, float]:
    """Held-out task loss per task (cached in eval/NAME.json, keyed by the weights)."""
    from sparsecircuits.core.evaluate import evaluate_task
    from sparsecircuits.tasks import get_task

    path = out / "eval" / f"{name}.json"
    if path.is_file():
        cached = json.loads(path.read_text())
        same = cached.get("weights_sha256") == run.weights_sha256 and cached.get("n") == n
        if same and set(tasks) <= set(cached["tasks"]):
            return {
                t: math.inf if cached["tasks"][t] is None else cached["tasks"][t] for t in tasks
            }
    losses = {}
    for i, t in enumerate(tasks, 1):
        try:
            losses[t] = evaluate_task(run.model, get_task(t), run.tokenizer, n=n)["loss"]
        except UserError as e:  # a task this tokenizer cannot express
            _say(f"{name}: {t} skipped ({e})")
            losses[t] = math.inf
        _say(f"{name}: task {i}/{len(tasks)} {t}: loss {losses[t]:.3f}")
    fileio.atomic_write_json(
        path,
        {
            "weights_sha256": run.weights_sha256,
            "n": n,
            "tasks": {k: _num(v) for k, v in losses.items()},
        },
    )
    return losses


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def circuit_at(
    run: Run, name: str, task: str, cfg: PruneConfig, out: Path, corpus: str
) -> dict[str, float] | None:
    """The circuit of `task` at `cfg.target_loss` (circuits/NAME/TASK@TARGET.json, reused), or None if out of reach."""
    from sparsecircuits.core.circuit import read_circuit, save_circuit
    from sparsecircuits.prune.pipeline import TargetUnreachable, prune_task

    path = out / "circuits" / name / f"{task}@{cfg.target_loss:g}.json"
    if path.is_file():
        c = read_circuit(path)
        if c.model.weights_sha256 != run.weights_sha256:
            raise UserError(f"{path} was pruned from other weights; delete it to prune again.")
    else:
        try:
            c = prune_task(run, task, cfg, progress=False, corpus_dir=corpus)
        except TargetUnreachable:
            return None
        save_circuit(c, path)
    return {"nodes": c.counts.nodes, "edges": c.counts.edges, "loss": c.losses.circuit}


def geomean_edges(circuits: list[dict[str, float]]) -> float | None:
    """Geometric mean of circuit edge counts (an edgeless circuit counts as 1 edge)."""
    if not circuits:
        return None
    return math.exp(sum(math.log(max(1.0, c["edges"])) for c in circuits) / len(circuits))


def run_sweep(sweep: Sweep, out: Path) -> dict:
    """Run every step of the sweep into `out` and return what frontier.json holds."""
    from sparsecircuits.tasks import task_names
    from sparsecircuits.train import load_run

    out.mkdir(parents=True, exist_ok=True)
    tasks = sweep.settings.tasks or task_names()
    target = sweep.prune.target_loss
    results: list[ModelResult] = []
    runs: dict[str, Run] = {}
    for entry in sweep.models:
        run_dir = ensure_run(entry, sweep, out)
        run = load_run(run_dir)
        runs[entry.name] = run
        losses = score_tasks(entry.name, run, tasks, sweep.settings.eval_pairs, out)
        res = ModelResult(
            entry.name,
            entry.kind,
            str(run_dir),
            last_val_loss(run_dir),
            run.model.num_nonzero_params(),
            losses,
        )
        doable = [t for t in tasks if losses[t] <= target]
        for i, t in enumerate(doable, 1):
            _say(f"{entry.name}: pruning {t} ({i}/{len(doable)})")
            c = circuit_at(run, entry.name, t, sweep.prune, out, sweep.settings.corpus)
            if c is not None:
                res.circuits[t] = c
        results.append(res)
    frontier = compare(results, target)
    frontier["size_vs_loss"] = size_vs_loss(frontier, results, runs, sweep, out)
    frontier["models"] = [
        asdict(r) | {"task_loss": {k: _num(v) for k, v in r.task_loss.items()}} for r in results
    ]
    fileio.atomic_write_json(out / "frontier.json", frontier)
    from sparsecircuits.sweep.plot import plot_frontier, plot_size_vs_loss

    plot_frontier(frontier, out / "frontier.png")
    plot_size_vs_loss(frontier, out / "size_vs_loss.png")
    return frontier


def compare(results: list[ModelResult], target: float) -> dict:
    """Geometric-mean edges per model over the tasks every model solves; the ratio at matched loss."""
    common = sorted(set.intersection(*(set(r.circuits) for r in results))) if results else []
    points = [
        {
            "name": r.name,
            "kind": r.kind,
            "val_loss": r.val_loss,
            "nonzero_params": r.nonzero_params,
            "tasks_solved": sorted(r.circuits),
            "geomean_edges": geomean_edges([r.circuits[t] for t in common]),
        }
        for r in results
    ]
    sparse = [p for p in points if p["kind"] == "sparse"]
    dense = [p for p in points if p["kind"] == "dense"]
    best = min(sparse, key=lambda p: p["val_loss"]) if sparse else None
    matched = (
        min(dense, key=lambda p: abs(p["val_loss"] - best["val_loss"])) if best and dense else None
    )
    ratio = None
    if best and matched and best["geomean_edges"] and matched["geomean_edges"]:
        ratio = matched["geomean_edges"] / best["geomean_edges"]
    return {
        "target_loss": target,
        "common_tasks": common,
        "points": points,
        "best_sparse": best["name"] if best else None,
        "matched_dense": matched["name"] if matched else None,
        "dense_over_sparse_edges": ratio,
        "rule": "tasks = those every model of the sweep prunes to the target; geometric mean of "
        "edges (an edgeless circuit counts 1); matched dense = the dense model whose held-out "
        "loss is nearest the best sparse model's",
    }


def size_vs_loss(
    frontier: dict, results: list[ModelResult], runs: dict[str, Run], sweep: Sweep, out: Path
) -> list[dict]:
    """Circuit edges at several target losses for the best sparse model and its matched dense one."""
    names = [frontier["best_sparse"], frontier["matched_dense"]]
    if None in names or not frontier["common_tasks"]:
        return []
    by_name = {r.name: r for r in results}
    rows = []
    for t_loss in sorted({*sweep.settings.size_targets, sweep.prune.target_loss}):
        cfg = sweep.prune.replace(target_loss=t_loss)
        per_model: dict[str, dict[str, dict[str, float]]] = {}
        for name in names:
            r = by_name[name]
            per_model[name] = {}
            for task in frontier["common_tasks"]:
                if r.task_loss[task] > t_loss:
                    continue
                _say(f"{name}: pruning {task} at target {t_loss:g}")
                c = (
                    r.circuits[task]
                    if t_loss == sweep.prune.target_loss
                    else circuit_at(runs[name], name, task, cfg, out, sweep.settings.corpus)
                )
                if c is not None:
                    per_model[name][task] = c
        both = sorted(set(per_model[names[0]]) & set(per_model[names[1]]))
        rows.append(
            {
                "target_loss": t_loss,
                "tasks": both,
                **{name: geomean_edges([per_model[name][t] for t in both]) for name in names},
            }
        )
    return rows
