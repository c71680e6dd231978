"""`sparsecircuits validate CIRCUIT.json`: run the validation checks and write them into the file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sparsecircuits.locks import locked


def register(subparsers: Any) -> None:
    """Add the `validate` sub-command."""
    p = subparsers.add_parser(
        "validate",
        help="test whether a circuit is real: sufficiency, necessity, stochastic ablation, binarisation, controls",
        description=(
            "Run validation checks on held-out pairs and write the results into the circuit file "
            "(its `validation` field). Thresholds and how to read them: docs/validation.md."
        ),
    )
    p.add_argument("circuit", help="circuit JSON file written by `sparsecircuits prune`")
    p.add_argument(
        "--checks",
        default="all",
        help=(
            "comma list of checks: sufficiency, necessity, stochastic, binarisation, "
            "control_random_init, control_shuffled, or 'controls' / 'all' (default: all)"
        ),
    )
    p.add_argument(
        "--run", default=None, help="run folder of the model (default: the one the circuit names)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the random draws (default: the circuit's seed)",
    )
    p.add_argument(
        "--corpus",
        default=None,
        help="corpus folder for mean activations (default: the run's corpus)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a ValidationConfig field, e.g. --set stochastic_draws=64 (repeatable)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="recompute every check instead of reusing finished ones",
    )
    p.set_defaults(func=run_cli)


@locked("circuit")
def run_cli(args: argparse.Namespace) -> int:
    """Validate one circuit file, print the table, and return 0 (the verdict is in the table and file)."""
    from sparsecircuits.validate.config import ValidationConfig, parse_checks
    from sparsecircuits.validate.runner import format_table, validate_circuit

    checks = parse_checks(args.checks)
    cfg = ValidationConfig.from_overrides(args.set)
    validation = validate_circuit(
        args.circuit,
        checks=checks,
        run_dir=args.run,
        seed=args.seed,
        cfg=cfg,
        fresh=args.fresh,
        corpus_dir=args.corpus,
        log=lambda msg: print(msg, file=sys.stderr),
    )
    print(format_table(validation))
    print(f"results written to {args.circuit} (field `validation`)")
    return 0
