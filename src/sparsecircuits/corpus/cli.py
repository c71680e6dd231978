"""`sparsecircuits corpus build|info`: make a tokenized corpus folder and describe one."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sparsecircuits.cli_types import int_in
from sparsecircuits.corpus.sources import SourceOptions
from sparsecircuits.corpus.strip import Part, parse_parts
from sparsecircuits.locks import locked


def strip_parts(value: str) -> frozenset[Part]:
    """argparse type of --strip: `docstrings,comments`."""
    try:
        return parse_parts(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"{e}; give docstrings, comments or docstrings,comments"
        ) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `corpus` command with its `build` and `info` sub-commands."""
    corpus = subparsers.add_parser(
        "corpus", help="build a tokenized Python-code corpus, or describe one"
    )
    sub = corpus.add_subparsers(dest="corpus_command", metavar="SUBCOMMAND")
    corpus.set_defaults(func=lambda args: (corpus.print_help(), 2)[1])

    b = sub.add_parser(
        "build",
        help="read sources, train a BPE tokenizer, write uint16 token shards",
        description="Read Python sources, drop duplicates, split train/val by content hash, train a "
        "byte-level BPE tokenizer and write uint16 token shards plus manifest.json into --out.",
    )
    b.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="SRC",
        help="`stdlib` (this interpreter's standard library), `site-packages` (its installed third-party packages, without tests, vendored copies or generated files), `synthetic` (generated simple Python), a folder, a .jsonl or a .parquet file; SRC:WEIGHT gives a source its share of the training tokens; repeatable",
    )
    b.add_argument(
        "--out", required=True, type=Path, help="new corpus folder (must not exist or be empty)"
    )
    b.add_argument(
        "--vocab-size",
        type=int,
        default=2048,
        help="BPE vocabulary incl. <|endoftext|> (default 2048)",
    )
    b.add_argument(
        "--val-fraction", type=float, default=0.01, help="share of documents in val (default 0.01)"
    )
    b.add_argument("--seed", type=int, default=0, help="salts the train/val split (default 0)")
    b.add_argument(
        "--include-tests",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="include the standard library's test files (default: include)",
    )
    b.add_argument("--glob", default="*.py", help="file pattern for folder sources (default *.py)")
    b.add_argument(
        "--text-field",
        default="content",
        help="text field of JSONL/parquet sources (default content)",
    )
    b.add_argument(
        "--max-file-bytes",
        type=int,
        default=1_000_000,
        help="skip larger documents (default 1000000)",
    )
    b.add_argument(
        "--tokens",
        type=int_in(1),
        default=None,
        metavar="N",
        help="training tokens of the synthetic source (default: from its weight)",
    )
    b.add_argument(
        "--strip",
        type=strip_parts,
        default=frozenset(),
        metavar="PARTS",
        help="drop these parts of Python files, comma-separated: docstrings, comments (files "
        "that do not parse are kept as they are and counted); default: keep everything",
    )
    b.add_argument(
        "--tokenizer",
        type=Path,
        default=None,
        help="use this tokenizer (tokenizer.json, or a folder with one or with vocab.bpe + encoder.json) instead of training one",
    )
    b.add_argument(
        "--tokenizer-sample-bytes",
        type=int,
        default=256_000_000,
        help="train the tokenizer on a hash-chosen sample of at most this much text (default 256 MB)",
    )
    b.add_argument(
        "--shard-tokens", type=int, default=100_000_000, help="tokens per shard file (default 1e8)"
    )
    b.set_defaults(func=_build)

    i = sub.add_parser("info", help="describe a corpus folder")
    i.add_argument("dir", type=Path, help="corpus folder")
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")
    i.add_argument(
        "--contamination",
        action="store_true",
        help="measure how often each task's held-out prompts occur verbatim in the training "
        "shards (stored beside the corpus; printed by every later `corpus info`)",
    )
    i.set_defaults(func=_info)


@locked("out")
def _build(args: argparse.Namespace) -> int:
    from sparsecircuits.corpus.build import BuildConfig, build_corpus

    cfg = BuildConfig(
        sources=args.source,
        out=args.out,
        vocab_size=args.vocab_size,
        val_fraction=args.val_fraction,
        seed=args.seed,
        options=SourceOptions(
            include_tests=args.include_tests,
            glob=args.glob,
            text_field=args.text_field,
            max_file_bytes=args.max_file_bytes,
            strip=args.strip,
        ),
        tokenizer=args.tokenizer,
        tokenizer_sample_bytes=args.tokenizer_sample_bytes,
        shard_tokens=args.shard_tokens,
        synthetic_tokens=args.tokens,
    )
    manifest = build_corpus(cfg)
    print(f"wrote {args.out}", file=sys.stderr)
    print(summary(manifest))
    return 0


def _info(args: argparse.Namespace) -> int:
    from sparsecircuits.corpus.data import unigram_loss
    from sparsecircuits.corpus.manifest import load_manifest

    manifest = load_manifest(args.dir)
    check_tokenizer(args.dir, manifest)
    baseline = round(unigram_loss(args.dir), 4)
    # tasks come after the corpus in the data path: imported only for this table
    from sparsecircuits.tasks import contamination

    rows = contamination.cached(args.dir, compute=args.contamination)
    if args.json:
        extra = {"contamination": [asdict(r) for r in rows]} if rows is not None else {}
        print(json.dumps({**manifest, "unigram_val_loss": baseline, **extra}, indent=2))
    else:
        print(summary(manifest))
        print(f"unigram baseline: val loss {baseline} nats/token (train token frequencies)")
        if rows is not None:
            print(contamination.format_table(rows))
    return 0


def check_tokenizer(corpus_dir: Path, manifest: dict[str, Any]) -> None:
    """Refuse a corpus whose tokenizer.json is not the one its shards were encoded with."""
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.errors import UserError

    tok = Tokenizer.load(corpus_dir / "tokenizer.json")
    if tok.content_hash() != manifest.get("tokenizer_sha256"):
        raise UserError(
            f"{corpus_dir}/tokenizer.json is not the tokenizer its shards were encoded with "
            "(hash differs from manifest.json); restore it or rebuild the corpus."
        )


def summary(m: dict[str, Any]) -> str:
    """A few human-readable lines describing a corpus manifest."""
    lines = []
    for s in m["sources"]:
        skipped = ", ".join(f"{k} {v}" for k, v in s["skipped"].items()) or "none"
        lines.append(
            f"source {s['spec']} ({s['kind']}, {s['path']}): {s['items_seen']} items, "
            f"{s['documents']} documents, {s['duplicates']} duplicates, skipped: {skipped}"
        )
        train_tokens = max(m["tokens"]["train"], 1)
        weight = f", weight {s['spec'].rpartition(':')[2]}" if ":" in s["spec"] else ""
        lines.append(
            f"  {s['tokens']['train']:,} train tokens ({100 * s['tokens']['train'] / train_tokens:.1f}%{weight})"
            + (
                f", {s['unparsed_kept']} unparsable files kept whole"
                if s.get("unparsed_kept")
                else ""
            )
        )
        if s.get("packages"):
            pkgs = s["packages"]
            top = sorted(pkgs, key=lambda p: -p["files"])[:8]
            lines.append(
                f"  {len(pkgs)} packages; most files: "
                + ", ".join(f"{p['name']} {p['version']} ({p['files']})" for p in top)
            )
    skipped = ", ".join(f"{k} {v}" for k, v in m["skipped"].items()) or "none"
    lines.append(f"skipped: {skipped}; duplicates: {m['duplicates']}")
    for split in ("train", "val"):
        lines.append(
            f"{split}: {m['documents'][split]:,} documents, {m['tokens'][split]:,} tokens, "
            f"{len(m['shards'][split])} shard(s)"
        )
    tok = m["tokenizer"]
    how = (
        f"trained on {tok['trained_on']}"
        if tok.get("trained")
        else f"loaded from {tok.get('loaded_from')}"
    )
    lines.append(
        f"tokenizer: vocab {m['vocab_size']}, eot id {m['eot_id']}, {how}, sha256 {m['tokenizer_sha256'][:16]}"
    )
    if m["options"].get("strip"):
        lines.append(f"stripped: {', '.join(m['options']['strip'])} (Python's tokenizer and ast)")
    lines.append(
        f"seed {m['seed']}, val fraction {m['val_fraction']}, built {m['created_at']} in {m['build_seconds']} s"
    )
    return "\n".join(lines)
