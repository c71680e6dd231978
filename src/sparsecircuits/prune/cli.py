"""`sparsecircuits prune`: extract one circuit per task from a trained run."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits.core import ABLATIONS
from sparsecircuits.locks import locked

if TYPE_CHECKING:
    from sparsecircuits.core.circuit import Circuit
    from sparsecircuits.prune.config import PruneConfig
    from sparsecircuits.tasks.base import TaskLike


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `prune` sub-command."""
    p = subparsers.add_parser(
        "prune",
        help="extract circuits (one TASK.json per task) from a trained run",
        description="Learn a node mask per task, bisect to the smallest circuit meeting the target "
        "loss on held-out pairs, and write TASK.json files (reused on re-run unless --force).",
    )
    p.add_argument("run", help="run folder (holds model.safetensors)")
    p.add_argument(
        "--task",
        action="append",
        default=[],
        help="task name, or a .jsonl task file of your own prompt pairs (repeatable)",
    )
    p.add_argument("--all", action="store_true", help="every task of the suite")
    p.add_argument("--out", required=True, help="folder for the circuit files")
    p.add_argument(
        "--target-loss", type=float, default=None, help="held-out task loss to reach (0.15)"
    )
    p.add_argument(
        "--ablation",
        choices=ABLATIONS,
        default=None,
        help="the objective: how removed nodes are replaced while pruning and bisecting (default "
        "mean; resample, stochastic or mixture for circuits that must survive a varied background)",
    )
    p.add_argument("--steps", type=int, default=None, help="mask training steps")
    p.add_argument("--batch-size", type=int, default=None, help="pairs per mask training step")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--k-coef", type=float, default=None, help="penalty per kept node")
    p.add_argument("--max-len", type=int, default=None, help="longest task prompt in tokens")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--search", type=int, default=0, metavar="N", help="optuna search with N trials")
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="prune with N seeds (each with its own pairs) and record each node's keep rate and "
        "the core kept in >= 80%% of runs; the file holds the first seed's circuit",
    )
    p.add_argument("--jobs", type=int, default=2, help="parallel processes for --search")
    p.add_argument(
        "--corpus", default=None, help="corpus folder for mean activations (default: the run's)"
    )
    p.add_argument("--no-calibrate", action="store_true", help="skip logit calibration")
    p.add_argument("--no-deltas", action="store_true", help="skip per-node ablation deltas")
    p.add_argument("--config", default=None, help="TOML file of PruneConfig fields ([prune] table)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any PruneConfig field"
    )
    p.add_argument("--force", action="store_true", help="recompute tasks whose file exists")
    p.set_defaults(func=run_cli)


def _config(args: argparse.Namespace) -> PruneConfig:
    from sparsecircuits.prune.config import PruneConfig

    base = PruneConfig.from_toml(args.config) if args.config else PruneConfig()
    cfg = base.with_overrides(args.set)
    flags = {
        "target_loss": args.target_loss,
        "ablation": args.ablation,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "k_coef": args.k_coef,
        "max_len": args.max_len,
        "seed": args.seed,
        "seeds": args.seeds,
    }
    changes = {k: v for k, v in flags.items() if v is not None}
    if args.no_calibrate:
        changes["calibrate"] = False
    if args.no_deltas:
        changes["node_deltas"] = False
    changes["search_trials"] = args.search
    changes["jobs"] = args.jobs
    return cfg.replace(**changes)


def _tasks(args: argparse.Namespace) -> list[tuple[str, TaskLike]]:
    """(the name or path as given, the task) per task to prune, each checked before any work."""
    from sparsecircuits.errors import UserError
    from sparsecircuits.tasks import get_task, task_names

    names = list(task_names()) if args.all else list(dict.fromkeys(args.task))
    if not names:
        raise UserError(
            "no task given; pass --task NAME or --task FILE.jsonl (repeatable) or --all"
        )
    return [(n, get_task(n)) for n in names]


def _reusable(path: Path, cfg: PruneConfig, sha: str) -> Circuit:
    """The existing circuit file if it was made with the same model and settings, else a UserError."""
    from sparsecircuits.core.circuit import read_circuit
    from sparsecircuits.errors import UserError

    try:
        c = read_circuit(path)
    except UserError as e:
        raise UserError(f"{e.args[0].rstrip('.')}; or pass --force to prune it again.") from None
    mine = (sha, cfg.ablation, cfg.target_loss, cfg.seed, cfg.seeds)
    theirs = (
        c.model.weights_sha256,
        c.ablation,
        c.target_loss,
        c.seed,
        c.hyperparameters.get("seeds", 1),
    )
    if mine != theirs:
        raise UserError(
            f"{path} was made with other settings (weights, ablation, target, seed or --seeds differ); pass --force to replace it or choose another --out"
        )
    return c


@locked("out")
def run_cli(args: argparse.Namespace) -> int:
    """Prune every requested task, writing OUT/TASK.json, and print a summary table."""
    from sparsecircuits.core.circuit import save_circuit
    from sparsecircuits.errors import UserError
    from sparsecircuits.prune.pipeline import TargetUnreachable, load_stats, prune_task
    from sparsecircuits.prune.search import search_task
    from sparsecircuits.prune.stability import prune_seeds
    from sparsecircuits.train import load_run

    cfg = _config(args)
    if cfg.seeds > 1 and cfg.search_trials > 0:
        raise UserError("--seeds and --search are two ways to spend the budget; choose one.")
    tasks = _tasks(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the circuit files.")
    run = load_run(args.run)
    rows: list[tuple[str, Circuit | None, float]] = []
    stats = None
    for spec, task in tasks:
        name = task.name
        path = out / f"{name}.json"
        if path.exists() and not args.force:
            rows.append((name, _reusable(path, cfg, run.weights_sha256), 0.0))
            print(f"{name}: reusing {path} (pass --force to recompute)", file=sys.stderr)
            continue
        t0 = time.perf_counter()
        try:
            if cfg.search_trials > 0:
                # fail fast on a task the tokenizer cannot express, and fill the mean cache
                # once before the workers start
                task.pairs(run.tokenizer, 1, max_len=cfg.max_len)
                load_stats(run, cfg, args.corpus)
                circuit = search_task(
                    str(args.run), spec, cfg, cfg.search_trials, cfg.jobs, args.corpus
                )
            else:
                if stats is None:
                    stats = load_stats(run, cfg, args.corpus)
                if cfg.seeds > 1:
                    circuit = prune_seeds(run, task, cfg, stats)
                else:
                    circuit = prune_task(run, task, cfg, stats=stats, corpus_dir=args.corpus)
        except UserError as e:
            # with several tasks, one that cannot be pruned (target out of reach, or a task this
            # tokenizer cannot express) is reported and the others go on
            if len(tasks) == 1:
                raise
            why = "target unreachable" if isinstance(e, TargetUnreachable) else "cannot run"
            print(f"{name}: skipped ({why}): {e}", file=sys.stderr)
            rows.append((name, None, time.perf_counter() - t0))
            continue
        save_circuit(circuit, path)
        rows.append((name, circuit, time.perf_counter() - t0))
    print(format_table(rows))
    if all(c is None for _, c, _ in rows):
        raise UserError(f"none of the {len(rows)} tasks could be pruned; see the lines above")
    return 0


def format_table(rows: list[tuple[str, Circuit | None, float]]) -> str:
    """The summary table: task, full-model loss, circuit loss, nodes, edges, seconds."""
    head = f"{'task':<28} {'full loss':>9} {'circuit loss':>12} {'nodes':>6} {'edges':>6} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    for name, c, secs in rows:
        if c is None:
            lines.append(f"{name:<28} {'skipped':>9} {'-':>12} {'-':>6} {'-':>6} {secs:>8.1f}")
            continue
        lines.append(
            f"{name:<28} {c.losses.full_model:>9.4f} {c.losses.circuit:>12.4f} "
            f"{c.counts.nodes:>6d} {c.counts.edges:>6d} {secs or c.time_seconds:>8.1f}"
        )
    return "\n".join(lines)
