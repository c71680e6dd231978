"""`sparsecircuits sweep SWEEP.toml --out DIR`: a grid of sparse and dense models, pruned and compared."""

from __future__ import annotations

import argparse
from pathlib import Path

from sparsecircuits.locks import locked


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `sweep` sub-command."""
    p = subparsers.add_parser(
        "sweep",
        help="train (or reuse) sparse and dense models, prune every task they can do, compare circuit sizes",
        description="Train or reuse each model of the sweep file, score it on the tasks, prune every task "
        "it reaches the target on, and write frontier.json, frontier.png and size_vs_loss.png into --out. "
        "Finished models, scores and circuits are kept: run it again to resume. Presets: configs/sweep-*.toml.",
    )
    p.add_argument("sweep", type=Path, help="the sweep file ([sweep], [prune], [[models]] tables)")
    p.add_argument(
        "--out", required=True, type=Path, help="the sweep folder (created; reused to resume)"
    )
    p.set_defaults(func=_sweep)


@locked("out")
def _sweep(args: argparse.Namespace) -> int:
    from sparsecircuits.errors import UserError
    from sparsecircuits.sweep.config import load_sweep
    from sparsecircuits.sweep.runner import run_sweep

    sweep = load_sweep(args.sweep)
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} is a file; give a folder for the sweep.")
    f = run_sweep(sweep, args.out)
    ratio = f["dense_over_sparse_edges"]
    print(f"tasks compared ({len(f['common_tasks'])}): {', '.join(f['common_tasks']) or 'none'}")
    for p in f["points"]:
        g = p["geomean_edges"]
        print(
            f"{p['name']:<20} {p['kind']:<6} val loss {p['val_loss']:.3f}  tasks solved {len(p['tasks_solved']):2d}  "
            f"geomean edges {'-' if g is None else f'{g:.1f}'}"
        )
    print(
        f"dense / sparse edges at matched loss ({f['matched_dense']} vs {f['best_sparse']}): "
        + ("n/a" if ratio is None else f"{ratio:.2f}x")
    )
    print(f"wrote {args.out / 'frontier.json'}, frontier.png, size_vs_loss.png")
    return 0
