"""`sparsecircuits import openai|openai-circuit` and `sparsecircuits export`: the authors' formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sparsecircuits.cli_types import float_in, int_in
from sparsecircuits.core import ABLATIONS
from sparsecircuits.locks import locked


def _warn(msg: str) -> None:
    print(msg, file=sys.stderr)


def register(subparsers: Any) -> None:
    """Add the `import` and `export` sub-commands."""
    imp = subparsers.add_parser(
        "import",
        help="open the paper authors' released models and circuits (docs/openai.md)",
        description="Convert the paper authors' released files into sparsecircuits' own: a model "
        "folder into a run folder, a viz_data.pt pruning result into a circuit file.",
    )
    sub = imp.add_subparsers(dest="format", metavar="FORMAT")
    imp.set_defaults(func=lambda args: (imp.print_help(), 2)[1])

    m = sub.add_parser(
        "openai",
        help="a model folder (beeg_config.json + final_model.pt) -> a run folder",
        description="Import one of the authors' models (csp_yolo1, csp_yolo2, csp_sweep1_*, ...) "
        "into a run folder that every command accepts. Loading is strict and safe "
        "(weights_only, memory-mapped, converted tensor by tensor).",
    )
    m.add_argument(
        "src", type=Path, help="model folder holding beeg_config.json and final_model.pt"
    )
    m.add_argument(
        "--out", required=True, type=Path, help="new run folder (must not exist or be empty)"
    )
    m.add_argument(
        "--tokenizer",
        type=Path,
        default=None,
        help="folder with the authors' vocab.bpe + encoder.json (default: $TINYPYTHON_TOK_DIR)",
    )
    m.set_defaults(func=_import_model)

    c = sub.add_parser(
        "openai-circuit",
        help="an authors' pruning result (viz_data.pt) -> a circuit file",
        description="Import an authors' viz_data.pt: kept nodes mapped to node ids, edges recounted "
        "from the run's weights, losses measured on our task pairs (theirs kept under `imported`). "
        "`validate` and `report` then work on it as on a circuit of our own.",
    )
    c.add_argument("viz_data", type=Path, help="the authors' viz_data.pt")
    c.add_argument("--run", required=True, type=Path, help="run folder of the imported model")
    c.add_argument(
        "--out", required=True, type=Path, help="circuit file to write, e.g. circuits/TASK.json"
    )
    c.add_argument(
        "--task",
        default=None,
        help="task name or .jsonl file (default: from the file's task folder, e.g. single_double_quote)",
    )
    c.add_argument(
        "--corpus", type=Path, default=None, help="corpus for mean activations (default: the run's)"
    )
    c.add_argument("--ablation", choices=ABLATIONS, default="mean")
    c.add_argument(
        "--target-loss",
        type=float_in(0, open_lo=True),
        default=None,
        help="target of the checks (default 0.15)",
    )
    c.add_argument(
        "--n-heldout", type=int_in(1, 100_000), default=None, help="held-out pairs (default 64)"
    )
    c.add_argument(
        "--max-len", type=int_in(2), default=None, help="longest task prompt in tokens (default 32)"
    )
    c.add_argument("--force", action="store_true", help="overwrite an existing circuit file")
    c.set_defaults(func=_import_circuit)

    e = subparsers.add_parser(
        "export",
        help="write a run in the paper authors' format",
        description="Write a run's model as beeg_config.json + final_model.pt (a plain state dict "
        "their loader accepts) and its tokenizer as vocab.bpe + encoder.json.",
    )
    e.add_argument("run", type=Path, help="run folder")
    e.add_argument("--format", choices=["openai"], required=True, help="target format")
    e.add_argument(
        "--out", required=True, type=Path, help="new folder (must not exist or be empty)"
    )
    e.set_defaults(func=_export)


@locked("out")
def _import_model(args: argparse.Namespace) -> int:
    from sparsecircuits.interop.openai_model import import_model

    r = import_model(args.src, args.out, args.tokenizer, say=_warn)
    c = r.config
    print(
        f"imported {args.src} -> {r.run_dir}: {c.n_layer} layers, d_model {c.d_model}, "
        f"{c.n_head} heads of {c.d_head}, d_mlp {c.d_mlp}, vocab {c.vocab_size}; "
        f"{r.parameters:,} parameters, {r.nonzero / max(1, r.parameters):.2%} nonzero"
    )
    print(
        f"next: sparsecircuits corpus build --tokenizer {r.run_dir} --source stdlib --out CORPUS, "
        f"then sparsecircuits prune {r.run_dir} --corpus CORPUS --task TASK --out circuits/"
    )
    return 0


@locked("out")
def _import_circuit(args: argparse.Namespace) -> int:
    from sparsecircuits.errors import UserError
    from sparsecircuits.interop.openai_circuit import import_circuit
    from sparsecircuits.prune.config import PruneConfig
    from sparsecircuits.tasks.registry import get_task
    from sparsecircuits.train import load_run

    if args.out.exists() and not args.force:
        raise UserError(f"{args.out} already exists; pass --force to overwrite it.")
    changes = {"ablation": args.ablation}
    for key in ("target_loss", "n_heldout", "max_len"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    cfg = PruneConfig().replace(**changes)
    run = load_run(args.run)
    task = get_task(args.task) if args.task else None
    circuit = import_circuit(args.viz_data, run, args.out, task, cfg, args.corpus, say=_warn)
    lo = circuit.losses
    print(
        f"{circuit.task.name}: {circuit.counts.nodes} nodes, {circuit.counts.edges} edges; "
        f"held-out loss full model {lo.full_model:.4f}, circuit {lo.circuit:.4f} "
        f"({circuit.ablation} ablation) -> {args.out}"
    )
    print(f"next: sparsecircuits validate {args.out} --corpus CORPUS")
    return 0


@locked("out")
def _export(args: argparse.Namespace) -> int:
    from sparsecircuits.interop.openai_model import export_model

    out = export_model(args.run, args.out)
    print(
        f"exported {args.run} -> {out} (beeg_config.json, final_model.pt, vocab.bpe, encoder.json)"
    )
    return 0
