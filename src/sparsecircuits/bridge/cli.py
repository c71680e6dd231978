"""`sparsecircuits bridge train | steer | eval`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparsecircuits.cli_types import int_in


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bridge` command and its sub-commands."""
    p = subparsers.add_parser(
        "bridge",
        help="bridge a sparse model to a dense one; steer the dense model through a circuit",
    )
    sub = p.add_subparsers(dest="bridge_command", metavar="SUBCOMMAND")

    t = sub.add_parser("train", help="train a sparse model from scratch beside a frozen dense one")
    t.add_argument("config", help="TOML config with [model], [train] and [bridge] tables")
    t.add_argument("--dense", default=None, help="the dense run folder (default: bridge.dense)")
    t.add_argument("--out", required=True, help="run folder to write (or resume)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set bridge.kl_dense_to_sparse_coef=0.5",
    )
    t.set_defaults(func=_train, threads_as="train")  # all cores by default, like `train`

    s = sub.add_parser("steer", help="steer the dense model through a sparse circuit's node")
    s.add_argument("run", help="bridged run folder written by `bridge train`")
    s.add_argument("--circuit", required=True, help="circuit JSON pruned from the bridged run")
    s.add_argument("--node", required=True, help="a node of the circuit, e.g. 2.mlp.post_act:17")
    s.add_argument(
        "--strength", default="0,0.25,0.5,0.75,1", help="comma-separated strengths (default 0..1)"
    )
    s.add_argument("--n", type=int_in(1, 100_000), default=256, help="held-out pairs (default 256)")
    s.add_argument(
        "--controls", type=int_in(0, 1000), default=8, help="random-direction seeds (default 8)"
    )
    s.add_argument("--seed", type=int_in(0), default=0, help="seed of pairs and controls")
    s.add_argument(
        "--no-rescale",
        action="store_true",
        help="push the decoded change as is (default: rescale by the dense/decoded RMS ratio)",
    )
    s.add_argument("--dense", default=None, help="the dense run (default: the one recorded)")
    s.add_argument("--out", default=None, help="output folder (default: beside the circuit)")
    s.set_defaults(func=_steer)

    e = sub.add_parser("eval", help="per-location NMSE, hybrid KLs and losses of a bridged run")
    e.add_argument("run", help="bridged run folder written by `bridge train`")
    e.add_argument("--baseline", default=None, help="an unbridged run of the same shape and steps")
    e.add_argument("--batches", type=int_in(1, 10_000), default=8, help="val batches (default 8)")
    e.add_argument("--dense", default=None, help="the dense run (default: the one recorded)")
    e.add_argument("--out", default=None, help="JSON file to write (default: print only)")
    e.set_defaults(func=_eval)
    p.set_defaults(func=lambda args: _need_subcommand(p))


def _need_subcommand(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _train(args: argparse.Namespace) -> int:
    from sparsecircuits.bridge.config import parse_bridge_sets
    from sparsecircuits.bridge.train import prepare, train_bridged
    from sparsecircuits.errors import UserError
    from sparsecircuits.train import checkpoint as ckpt
    from sparsecircuits.train.config import load_config, resume_config

    out = Path(args.out)
    plain, bridge_sets = parse_bridge_sets(args.overrides)
    config = load_config(args.config, plain)
    if bridge_sets:
        config.extra["bridge"] = {**config.extra.get("bridge", {}), **bridge_sets}
    if args.resume and (out / ckpt.STATE_FILE).is_file():
        requested, _ = prepare(config, args.dense)
        config = resume_config(ckpt.load_run_config(out), requested, out / ckpt.CONFIG_FILE)
    elif args.resume and ckpt.holds_run(out):
        raise UserError(
            f"{out} holds no {ckpt.STATE_FILE} to resume from; delete it or choose another --out."
        )
    row = train_bridged(config, args.dense, out, resume=args.resume)
    if row:
        summary = ", ".join(f"{k} {row[k]:.4g}" for k in ("train_loss", "val_loss") if k in row)
        print(f"done: step {row.get('step')}, {summary}; bridged run in {out}", file=sys.stderr)
    return 0


def _steer(args: argparse.Namespace) -> int:
    from sparsecircuits.bridge.steer import run_steer

    run_steer(args)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from sparsecircuits.bridge.evaluate import run_eval

    run_eval(args)
    return 0
