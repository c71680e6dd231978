"""`sparsecircuits train` and `sparsecircuits sample`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from sparsecircuits.cli_types import float_in, int_in


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` and `sample` sub-commands."""
    p = subparsers.add_parser("train", help="train a (weight-sparse) model on a corpus")
    p.add_argument("config", help="TOML config with [model] and [train] tables (see configs/)")
    p.add_argument("--out", required=True, help="run folder to write (or resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.lr=0.01 --set model.n_layer=2",
    )
    p.set_defaults(func=_train)

    s = subparsers.add_parser("sample", help="generate text from a trained run")
    s.add_argument("run", help="run folder written by `sparsecircuits train`")
    s.add_argument("--prompt", required=True, help="text to continue")
    s.add_argument(
        "--tokens", type=int_in(0, 100_000), default=64, help="tokens to generate (default 64)"
    )
    s.add_argument(
        "--temperature",
        type=float_in(0.0, 100.0),
        default=0.0,
        help="sampling temperature; 0 = greedy, always the most likely token (default 0)",
    )
    s.add_argument(
        "--seed", type=int_in(0), default=0, help="seed of the sampling draws (default 0)"
    )
    s.set_defaults(func=_sample)


def _train(args: argparse.Namespace) -> int:
    from sparsecircuits.errors import UserError
    from sparsecircuits.train import checkpoint as ckpt
    from sparsecircuits.train.config import load_config, resume_config
    from sparsecircuits.train.loop import train

    out = Path(args.out)
    config = load_config(args.config, args.overrides)
    if config.extra:  # e.g. [bridge]: the same config trains the unbridged twin of a bridged run
        tables = ", ".join(f"[{k}]" for k in config.extra)
        print(f"note: plain training ignores the {tables} table of {args.config}.", file=sys.stderr)
        config = dataclasses.replace(config, extra={})
    if args.resume and (out / ckpt.STATE_FILE).is_file():
        # The run's own saved config (it records the corpus and tokenizer hash); the request may
        # change only its length and bookkeeping, e.g. --set train.steps=N to extend it.
        config = resume_config(ckpt.load_run_config(out), config, out / ckpt.CONFIG_FILE)
    elif args.resume and ckpt.holds_run(out):
        raise UserError(
            f"{out} holds no {ckpt.STATE_FILE} to resume from; delete it or choose another --out."
        )
    row = train(config, out, resume=args.resume)
    if row:
        summary = ", ".join(f"{k} {row[k]:.4g}" for k in ("train_loss", "val_loss") if k in row)
        print(f"done: step {row.get('step')}, {summary}; run in {out}", file=sys.stderr)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from sparsecircuits.errors import UserError
    from sparsecircuits.train.checkpoint import load_run
    from sparsecircuits.train.sample import generate

    run = load_run(args.run)
    ids = run.tokenizer.encode(args.prompt)
    if not ids:
        raise UserError("--prompt is empty; pass some text to continue.")
    new = generate(
        run.model,
        ids,
        args.tokens,
        run.config.model.block_size,
        temperature=args.temperature,
        seed=args.seed,
        stop_id=run.tokenizer.eot_id,
    )
    print(args.prompt + run.tokenizer.decode(new))
    return 0
