"""Build a corpus folder: read sources, drop duplicates, split by hash, train the tokenizer, write shards."""

from __future__ import annotations

import hashlib
import heapq
import platform
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sparsecircuits import fileio
from sparsecircuits.corpus import synthetic
from sparsecircuits.corpus.manifest import FORMAT_VERSION, MANIFEST_FILE, shard_name
from sparsecircuits.corpus.sources import (
    FILE_KINDS,
    SYNTHETIC,
    Document,
    Source,
    SourceOptions,
    SourceStats,
    iter_documents,
    list_files,
    parse_source,
)
from sparsecircuits.corpus.strip import PARTS, strip_source
from sparsecircuits.corpus.tokenizer import Tokenizer
from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_write_json, staging_dir

SPLITS = ("train", "val")
_ENCODE_BATCH_DOCS = 256


@dataclass
class BuildConfig:
    """Everything `corpus build` needs; defaults match the CLI."""

    sources: list[str]
    out: Path
    vocab_size: int = 2048
    val_fraction: float = 0.01
    seed: int = 0
    options: SourceOptions = field(default_factory=SourceOptions)
    tokenizer: Path | None = None  # use this tokenizer instead of training one
    tokenizer_sample_bytes: int = 256_000_000  # train the tokenizer on at most this much text
    shard_tokens: int = 100_000_000
    synthetic_tokens: int | None = None  # train tokens of the synthetic source (else its weight)
    progress: bool = True


def split_of(digest: bytes, seed: int, val_fraction: float) -> str:
    """The split of a document, from its content hash alone (stable when other documents change)."""
    return "val" if _split_key(digest, seed) < val_fraction else "train"


def _split_key(digest: bytes, seed: int) -> float:
    salted = hashlib.sha256(seed.to_bytes(8, "little", signed=True) + digest).digest()
    return int.from_bytes(salted[:8], "little") / 2.0**64


def check_out_dir(out: Path) -> None:
    """Refuse an output path that exists and is not an empty folder."""
    if out.is_dir() and (out / MANIFEST_FILE).exists():
        raise UserError(
            f"{out} already holds a corpus; choose a new --out path or delete that folder first."
        )
    fileio.require_empty_dir(out)


@dataclass
class _Scan:
    """Result of the first pass: unique documents, their splits, and counts."""

    n_unique: int = 0
    n_split: Counter = field(default_factory=Counter)
    duplicates: int = 0
    forced_val: bytes | None = None  # digest moved to val so that val is not empty


def _unique_documents(
    sources: list[Source],
    files: list[list[Path]],
    opts: SourceOptions,
    stats: list[SourceStats],
    dup_counts: list[int],
    desc: str,
    progress: bool,
    stripped_memo: dict[bytes, str | None],
) -> Iterator[tuple[int, Document, bytes]]:
    """Yield (source index, document, sha256 digest) for first occurrences only."""
    seen: set[bytes] = set()
    # Files of stdlib/folder sources are known up front; records of JSONL/parquet are not.
    known = all(s.kind in (*FILE_KINDS, SYNTHETIC) for s in sources)
    total = sum(len(f) for f in files) if known else None
    bar = tqdm(total=total, desc=desc, unit="item", disable=not progress, file=sys.stderr)
    try:
        for i, (src, fl) in enumerate(zip(sources, files, strict=True)):
            for doc in iter_documents(src, fl, opts, stats[i]):
                bar.update(sum(st.items_seen for st in stats) - bar.n)
                digest = hashlib.sha256(doc.text.encode("utf-8")).digest()
                if digest in seen:
                    dup_counts[i] += 1
                    continue
                seen.add(digest)
                if opts.strip:  # the split and dedup follow the file as written
                    if digest not in stripped_memo:  # the second pass reuses the first's work
                        stripped_memo[digest] = strip_source(doc.text, opts.strip)
                    stripped = stripped_memo[digest]
                    if stripped is None:
                        stats[i].unparsed_kept += 1
                    elif stripped.strip():
                        doc = Document(doc.origin, stripped)
                yield i, doc, digest
        bar.update(sum(st.items_seen for st in stats) - bar.n)
    finally:
        bar.close()


def build_corpus(cfg: BuildConfig) -> dict[str, Any]:
    """Build the corpus folder `cfg.out` and return its manifest."""
    t0 = time.perf_counter()
    out = Path(cfg.out)
    if not cfg.sources:
        raise UserError(
            "no --source given; add `--source stdlib`, a folder, a .jsonl or a .parquet file."
        )
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise UserError(f"--val-fraction {cfg.val_fraction} is outside [0, 1); use e.g. 0.01.")
    if cfg.options.max_file_bytes <= 0:
        raise UserError("--max-file-bytes must be positive; use e.g. 1000000.")
    if cfg.tokenizer_sample_bytes <= 0:
        raise UserError("--tokenizer-sample-bytes must be positive; use e.g. 256000000.")
    if cfg.shard_tokens <= 0:
        raise UserError("--shard-tokens must be positive; use e.g. 100000000.")
    check_out_dir(out)
    given_tok = Tokenizer.load(cfg.tokenizer) if cfg.tokenizer is not None else None
    if given_tok is None and not 257 <= cfg.vocab_size <= 65536:
        raise UserError(
            f"--vocab-size {cfg.vocab_size} is out of range; choose 257..65536 (default 2048)."
        )
    if given_tok is not None and given_tok.vocab_size > 65536:
        raise UserError(
            f"tokenizer {cfg.tokenizer} has {given_tok.vocab_size} tokens, more than uint16 shards hold; use one of at most 65536."
        )

    sources = [parse_source(s) for s in cfg.sources]
    syn_i = _synthetic_index(sources, cfg.synthetic_tokens)
    only_synthetic = syn_i is not None and len(sources) == 1
    # synthetic train tokens per real one, checked before any work
    syn_ratio = (
        _synthetic_ratio(sources, syn_i) if syn_i is not None and not cfg.synthetic_tokens else 0.0
    )
    files = [list_files(s, cfg.options) for s in sources]
    opts = cfg.options

    stripped_memo: dict[bytes, str | None] = {}
    # Pass 1: which documents exist, their splits, and the tokenizer-training sample.
    stats = [SourceStats() for _ in sources]
    dups = [0] * len(sources)
    scan = _Scan()
    sample: list[
        tuple[float, int, bytes, str]
    ] = []  # max-heap via negation: (-key, order, digest, text)
    sample_bytes = 0
    min_key: tuple[float, bytes] | None = None
    for _, doc, digest in _unique_documents(
        sources, files, opts, stats, dups, "scanning", cfg.progress, stripped_memo
    ):
        scan.n_unique += 1
        split = split_of(digest, cfg.seed, cfg.val_fraction)
        nbytes = len(doc.text.encode("utf-8"))
        scan.n_split[split] += 1
        key = _split_key(digest, cfg.seed)
        if min_key is None or key < min_key[0]:
            min_key = (key, digest)
        if given_tok is None and split == "train":
            # Bottom-k by a hash key: a deterministic sample that does not favour early sources.
            sample_key = _split_key(digest, cfg.seed + 1)
            heapq.heappush(sample, (-sample_key, scan.n_unique, digest, doc.text))
            sample_bytes += nbytes
            while sample_bytes > cfg.tokenizer_sample_bytes and len(sample) > 1:
                *_, dropped = heapq.heappop(sample)
                sample_bytes -= len(dropped.encode("utf-8"))
    scan.duplicates = sum(dups)
    if only_synthetic and given_tok is None:  # the tokenizer learns from the programs themselves
        gen = synthetic.documents(cfg.seed)
        while sample_bytes < min(cfg.tokenizer_sample_bytes, _SYNTHETIC_SAMPLE_BYTES):
            text = next(gen)
            sample.append((0.0, len(sample), b"", text))
            sample_bytes += len(text.encode("utf-8"))
    if scan.n_unique == 0 and not only_synthetic:
        raise UserError(
            "the sources hold no usable documents (all were skipped or duplicates); check the sources and --max-file-bytes."
        )
    if (
        cfg.val_fraction > 0
        and scan.n_split["val"] == 0
        and scan.n_unique >= 2
        and min_key is not None
    ):
        # A tiny corpus can hash no document into val; move the lowest-key one there.
        scan.forced_val = min_key[1]
        scan.n_split["train"] -= 1
        scan.n_split["val"] += 1
        sample = [e for e in sample if e[2] != scan.forced_val]
        sample_bytes = sum(len(e[3].encode("utf-8")) for e in sample)
    if scan.n_split["train"] == 0 and not only_synthetic:
        raise UserError(
            "no document landed in the training split; lower --val-fraction or add sources."
        )

    timings = {"scan": round(time.perf_counter() - t0, 2)}
    t1 = time.perf_counter()

    # Tokenizer.
    if given_tok is None:
        sample.sort(key=lambda t: t[1])  # original order, for determinism
        sampled = len(sample) < scan.n_split["train"] or only_synthetic
        texts = [e[3] for e in sample]
        n_sample = len(texts)
        if cfg.progress:
            print(
                f"training tokenizer (vocab {cfg.vocab_size}) on {len(texts)} documents, {sample_bytes / 1e6:.1f} MB",
                file=sys.stderr,
            )
        tok = Tokenizer.train(
            texts, vocab_size=cfg.vocab_size, show_progress=cfg.progress and sys.stdout.isatty()
        )  # the library draws its bar on stdout, which must stay clean for the summary
        del texts, sample
        tok_info = {
            "trained": True,
            "requested_vocab_size": cfg.vocab_size,
            "trained_on": "train split" + (" (a hash-chosen sample)" if sampled else ""),
            "sample_documents": n_sample,
            "sample_bytes": sample_bytes,
            "sampled": sampled,
        }
    else:
        tok = given_tok
        tok_info = {"trained": False, "loaded_from": str(cfg.tokenizer)}

    timings["tokenizer"] = round(time.perf_counter() - t1, 2)
    t2 = time.perf_counter()

    # Pass 2: encode and write shards into a staging folder renamed onto `out` at the end.
    with staging_dir(out) as stage:
        tok.save(stage / "tokenizer.json")
        writers = {s: _ShardWriter(stage, s, cfg.shard_tokens) for s in SPLITS}
        tokens_by_source = [Counter() for _ in sources]
        docs_by_split: Counter = Counter()
        stats2 = [SourceStats() for _ in sources]
        dups2 = [0] * len(sources)
        pending: dict[str, list[tuple[int, str]]] = {s: [] for s in SPLITS}

        def flush(split: str) -> None:
            batch = pending[split]
            if not batch:
                return
            ids = tok.encode_batch([t for _, t in batch])
            for (src_i, _), doc_ids in zip(batch, ids, strict=True):
                writers[split].write_document(tok.eot_id, doc_ids)
                tokens_by_source[src_i][split] += len(doc_ids) + 1
            bar.update(len(batch))
            batch.clear()

        bar = tqdm(
            total=scan.n_unique,
            desc="tokenizing",
            unit="doc",
            disable=not cfg.progress,
            file=sys.stderr,
        )
        try:
            for src_i, doc, digest in _unique_documents(
                sources, files, opts, stats2, dups2, "reading", False, stripped_memo
            ):
                split = (
                    "val"
                    if digest == scan.forced_val
                    else split_of(digest, cfg.seed, cfg.val_fraction)
                )
                docs_by_split[split] += 1
                pending[split].append((src_i, doc.text))
                if len(pending[split]) >= _ENCODE_BATCH_DOCS:
                    flush(split)
            for s in SPLITS:
                flush(s)
            if syn_i is not None:
                target = cfg.synthetic_tokens or int(
                    syn_ratio * sum(c["train"] for c in tokens_by_source)
                )
                bar.reset(total=None)
                bar.set_description("generating")
                for n, text in enumerate(synthetic.documents(cfg.seed)):
                    if tokens_by_source[syn_i]["train"] >= target:
                        break
                    digest = hashlib.sha256(text.encode("utf-8")).digest()
                    # beside real code the val split stays the real code's own, shared by mixes
                    split = (
                        split_of(digest, cfg.seed, cfg.val_fraction) if only_synthetic else "train"
                    )
                    docs_by_split[split] += 1
                    stats2[syn_i].items_seen = stats2[syn_i].documents = n + 1
                    pending[split].append((syn_i, text))
                    done = stats2[syn_i].documents - len(pending["train"]) - len(pending["val"])
                    per_doc = tokens_by_source[syn_i]["train"] / done if done else float("inf")
                    left = target - tokens_by_source[syn_i]["train"]
                    # encode in batches, but one by one near the target (programs vary 4x in
                    # length), so that the source ends within one program of its target
                    near = left <= 4 * per_doc * len(pending[split])
                    if near or len(pending[split]) >= _ENCODE_BATCH_DOCS:
                        flush(split)
                for s in SPLITS:
                    flush(s)
                stats[syn_i] = stats2[syn_i]
                scan.n_unique += stats2[syn_i].documents
        finally:
            bar.close()
        if sum(docs_by_split.values()) != scan.n_unique or dups2 != dups:
            raise UserError(
                "the sources changed while the corpus was being built; run the build again."
            )
        shards = {s: writers[s].close() for s in SPLITS}

        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": cfg.seed,
            "val_fraction": cfg.val_fraction,
            "dtype": "uint16",
            "layout": "each document is preceded by the end-of-text token",
            "sources": [
                {
                    "spec": src.spec,
                    "kind": src.kind,
                    "path": "generated" if src.kind == SYNTHETIC else str(src.path.resolve()),
                    "items_seen": st.items_seen,
                    "documents": st.documents - d,
                    "duplicates": d,
                    "skipped": dict(sorted(st.skipped.items())),
                    **({"unparsed_kept": st.unparsed_kept} if opts.strip else {}),
                    "tokens": {s: tokens_by_source[i][s] for s in SPLITS},
                    **({"packages": package_inventory(src)} if src.packages else {}),
                }
                for i, (src, st, d) in enumerate(zip(sources, stats, dups, strict=True))
            ],
            "options": {
                "include_tests": opts.include_tests,
                "glob": opts.glob,
                "text_field": opts.text_field,
                "max_file_bytes": opts.max_file_bytes,
                "strip": [p for p in PARTS if p in opts.strip],
                "shard_tokens": cfg.shard_tokens,
            },
            "files_seen": sum(st.items_seen for st in stats),
            "skipped": dict(sorted(sum((st.skipped for st in stats), Counter()).items())),
            "duplicates": scan.duplicates,
            "documents": {s: docs_by_split[s] for s in SPLITS},
            "tokens": {s: sum(n for _, n in shards[s]) for s in SPLITS},
            "shards": {s: [{"file": f, "tokens": n} for f, n in shards[s]] for s in SPLITS},
            "vocab_size": tok.vocab_size,
            "eot_id": tok.eot_id,
            "tokenizer_sha256": tok.content_hash(),
            "tokenizer": tok_info,
            "build_seconds": None,
            "python": platform.python_version(),
        }
        timings["encode"] = round(time.perf_counter() - t2, 2)
        manifest["timings"] = timings
        manifest["build_seconds"] = round(time.perf_counter() - t0, 2)
        atomic_write_json(stage / MANIFEST_FILE, manifest)
    return manifest


_SYNTHETIC_SAMPLE_BYTES = 16_000_000  # tokenizer sample of a synthetic-only corpus


def _synthetic_index(sources: list[Source], tokens: int | None) -> int | None:
    """Where the synthetic source is among `sources` (at most once), checking it can be sized."""
    found = [i for i, s in enumerate(sources) if s.kind == SYNTHETIC]
    if len(found) > 1:
        raise UserError("`--source synthetic` is given twice; give it once (with one weight).")
    if not found:
        if tokens is not None:
            raise UserError("--tokens sizes the synthetic source; add `--source synthetic`.")
        weighted = next((s.spec for s in sources if s.weight is not None), None)
        if weighted:
            # real sources are read whole: a weight only sizes the synthetic source beside them
            raise UserError(
                f"the weight in `--source {weighted}` has nothing to size without a synthetic "
                "source; drop it, or add one (e.g. --source synthetic:0.3)."
            )
        return None
    i = found[0]
    if tokens is not None and sources[i].weight is not None:
        raise UserError(
            f"`--source {sources[i].spec}` and --tokens both size the synthetic source; "
            "give one of them."
        )
    if tokens is None and (sources[i].weight is None or len(sources) == 1):
        raise UserError(
            "`--source synthetic` needs a size: --tokens N, or a weight beside real sources "
            "(e.g. --source synthetic:0.3 --source stdlib:0.7)."
        )
    return i


def _synthetic_ratio(sources: list[Source], syn_i: int) -> float:
    """Synthetic train tokens per real one, from the weights. Weights are shares of the training
    tokens; the real sources are read whole, so they fix the synthetic share alone:
    synthetic:0.3 beside stdlib:0.7 (or beside unweighted real sources, which share what the
    weights leave) makes 30% of the training tokens synthetic."""
    weight = sources[syn_i].weight or 0.0
    real = [s.weight for i, s in enumerate(sources) if i != syn_i]
    given = sum(w for w in real if w is not None)
    real_weight = given + (1.0 - weight - given if None in real else 0.0)
    if real_weight <= 0:
        raise UserError(
            f"the source weights leave no share for the real sources; make them sum to 1 "
            f"(e.g. --source synthetic:{min(weight, 0.3)} --source stdlib:{1 - min(weight, 0.3):g})."
        )
    return weight / real_weight


def package_inventory(source: Source) -> list[dict[str, Any]]:
    """Per installed package of a site-packages source: name, version, files read, files left out by reason."""
    return [
        {
            "name": p.name,
            "version": p.version,
            "files": len(p.files),
            "excluded": dict(sorted(p.excluded.items())),
        }
        for p in source.packages
    ]


class _ShardWriter:
    """Appends documents to `{split}_NNN.bin` files of at most `max_tokens` tokens each."""

    def __init__(self, folder: Path, split: str, max_tokens: int) -> None:
        self.folder, self.split, self.max_tokens = folder, split, max_tokens
        self.done: list[tuple[str, int]] = []
        self._f = None
        self._n = 0

    def write_document(self, eot_id: int, ids: list[int]) -> None:
        arr = np.empty(len(ids) + 1, dtype=np.uint16)
        arr[0] = eot_id
        arr[1:] = ids
        # A document never straddles two shards; a new shard starts when this one would overflow.
        if self._f is not None and self._n + len(arr) > self.max_tokens:
            self._close_current()
        if self._f is None:
            self._f = open(self.folder / shard_name(self.split, len(self.done)), "wb")  # noqa: SIM115
            self._n = 0
        self._f.write(arr.tobytes())
        self._n += len(arr)

    def _close_current(self) -> None:
        assert self._f is not None
        self._f.close()
        self.done.append((shard_name(self.split, len(self.done)), self._n))
        self._f = None

    def close(self) -> list[tuple[str, int]]:
        if self._f is not None:
            self._close_current()
        return self.done
