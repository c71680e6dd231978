"""`sparsecircuits report` (one self-contained HTML file) and `sparsecircuits serve` (local server)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparsecircuits.cli_types import int_in, pair_count, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `report` and `serve` sub-commands."""
    p = subparsers.add_parser(
        "report",
        help="write one self-contained HTML viewer for circuit files",
        description="Write ONE self-contained HTML file (works offline, from file://) showing the circuits: "
        "index, graphs, node cards with activations and corpus snippets, loss-vs-size curves.",
    )
    p.add_argument(
        "circuits", metavar="CIRCUIT_OR_DIR", help="a circuit JSON file or a folder of them"
    )
    p.add_argument(
        "--run",
        type=Path,
        default=None,
        help="model run folder (default: the run named in each circuit file)",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="the HTML file to write, e.g. report.html"
    )
    p.add_argument("--title", default="sparsecircuits report", help="page title")
    p.add_argument(
        "--no-model",
        action="store_true",
        help="do not load the run: graph and numbers only, no activations",
    )
    p.add_argument(
        "--no-snippets", action="store_true", help="skip the corpus snippets (no corpus needed)"
    )
    p.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="corpus folder for the snippets (default: the run's corpus)",
    )
    p.add_argument(
        "--snippet-windows",
        type=positive_int,
        default=512,
        help="held-out corpus windows scanned for snippets (default 512)",
    )
    p.add_argument(
        "--snippet-len", type=int_in(2), default=64, help="tokens per scanned window (default 64)"
    )
    p.add_argument(
        "--class-pairs",
        type=pair_count,
        default=128,
        help="held-out task pairs for per-class mean activations (default 128)",
    )
    p.add_argument(
        "--examples",
        type=int_in(0, 100),
        default=3,
        help="task pairs shown with per-token activations (default 3)",
    )
    p.add_argument(
        "--trace-pairs",
        type=int_in(0, 64),
        default=8,
        help="held-out task pairs traced for the graph's logit attribution, attention patterns "
        "and per-prompt traces (default 8; 0 turns them off)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the snippet window sample (default 0)"
    )
    p.add_argument("--device", default="cpu", help="torch device for the activations (default cpu)")
    p.set_defaults(func=_report)

    s = subparsers.add_parser(
        "serve",
        help="serve a folder's HTML reports on a local web server",
        description="Serve the reports (*.html) of a folder with an index page. Binds 127.0.0.1 unless --host is given.",
    )
    s.add_argument("folder", metavar="DIR", type=Path, help="folder holding report .html files")
    s.add_argument("--port", type=int_in(0, 65535), default=8000, help="TCP port (default 8000)")
    s.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)"
    )
    s.set_defaults(func=_serve)


def _report(args: argparse.Namespace) -> int:
    from sparsecircuits.report.build import ReportOptions, write_report
    from sparsecircuits.report.snippets import SnippetConfig

    opts = ReportOptions(
        run=args.run,
        use_model=not args.no_model,
        snippets=not args.no_snippets,
        corpus=args.corpus,
        snippet=SnippetConfig(
            n_windows=args.snippet_windows, window_len=args.snippet_len, seed=args.seed
        ),
        n_class_pairs=args.class_pairs,
        n_examples=args.examples,
        n_trace_pairs=args.trace_pairs,
        device=args.device,
        title=args.title,
    )
    out = write_report(args.circuits, args.out, opts)
    print(
        f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB); open it in a browser", file=sys.stderr
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from sparsecircuits.report.server import serve

    serve(args.folder, host=args.host, port=args.port)
    return 0
