"""Corpus sources (stdlib, site-packages, a folder, JSONL, parquet): parsing `--source` values and reading documents."""

from __future__ import annotations

import dataclasses
import json
import os
import sysconfig
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sparsecircuits.corpus.site_packages import (
    SITE_PACKAGES,
    Package,
    installed_packages,
    looks_generated,
    site_packages_dirs,
)
from sparsecircuits.corpus.strip import Part
from sparsecircuits.errors import UserError

# Why a file or record was left out; every skip is counted under one of these.
SKIP_REASONS = ("not_utf8", "binary", "empty", "too_large", "not_text", "unreadable", "generated")
STDLIB = "stdlib"
SYNTHETIC = "synthetic"  # generated simple Python (corpus/synthetic.py); no files
# Sources whose files are listed up front (the others are files of records).
FILE_KINDS = ("stdlib", SITE_PACKAGES, "dir")
# Path parts that mark the standard library's own tests.
_TEST_DIRS = frozenset({"test", "tests", "idle_test"})
_THIRD_PARTY_DIRS = frozenset({"site-packages", "dist-packages"})


@dataclass(frozen=True)
class SourceOptions:
    """How sources are read."""

    include_tests: bool = True
    glob: str = "*.py"
    text_field: str = "content"
    max_file_bytes: int = 1_000_000
    strip: frozenset[Part] = frozenset()  # parts of Python text to drop (corpus/strip.py)


@dataclass(frozen=True)
class Source:
    """One `--source` value, resolved: `kind` is stdlib, site-packages, dir, jsonl or parquet."""

    spec: str
    kind: str
    path: Path
    weight: float | None = None  # `SRC:WEIGHT`: share of the training tokens (build.py)
    # site-packages only: the installed distributions, each with the files it contributes.
    packages: tuple[Package, ...] = field(default=(), compare=False)


@dataclass
class SourceStats:
    """Counts for one source: items seen, documents kept, skips by reason."""

    items_seen: int = 0
    documents: int = 0
    skipped: Counter = field(default_factory=Counter)
    unparsed_kept: int = 0  # with --strip: documents that do not parse, kept as they are


@dataclass(frozen=True)
class Document:
    """One text document and where it came from (file path, or file:line / file:row)."""

    origin: str
    text: str


def parse_source(spec: str) -> Source:
    """Resolve a `--source` value: `stdlib`, `site-packages`, `synthetic`, a folder, a `.jsonl` or a
    `.parquet` file, each optionally followed by `:WEIGHT` (a positive number)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            weight = None  # a colon in a path
        if weight is not None:
            if not weight > 0:
                raise UserError(
                    f"source weight {tail!r} in {spec!r} must be a positive number, e.g. {head}:0.5."
                )
            return dataclasses.replace(parse_source(head), spec=spec, weight=weight)
    if spec == SYNTHETIC:
        return Source(spec, SYNTHETIC, Path(SYNTHETIC))
    if spec == STDLIB:
        return Source(spec, "stdlib", stdlib_path())
    if spec == SITE_PACKAGES:
        dirs = site_packages_dirs()
        packages = tuple(p for p in installed_packages(dirs) if p.files)
        if not packages:
            raise UserError(
                "`--source site-packages` found no installed package with Python files; install some or give `stdlib` or a folder."
            )
        return Source(spec, SITE_PACKAGES, dirs[0], packages=packages)
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(
            f"source {spec!r} does not exist; give `stdlib`, `site-packages`, a folder, a .jsonl file or a .parquet file."
        )
    if path.is_dir():
        return Source(spec, "dir", path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return Source(spec, "jsonl", path)
    if suffix == ".parquet":
        return Source(spec, "parquet", path)
    raise UserError(
        f"source {spec!r} is a file that is neither .jsonl nor .parquet; give a folder, a .jsonl file or a .parquet file."
    )


def stdlib_path() -> Path:
    """The running interpreter's standard-library folder."""
    return Path(sysconfig.get_paths()["stdlib"])


def list_files(source: Source, opts: SourceOptions) -> list[Path]:
    """The files a stdlib or folder source will read, in a fixed (sorted) order."""
    if source.kind == "stdlib":
        files = []
        for root, dirs, names in os.walk(source.path):
            # Prune while walking: site-packages can be far larger than the stdlib itself.
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in _THIRD_PARTY_DIRS and (opts.include_tests or d not in _TEST_DIRS)
            )
            files.extend(
                Path(root, n)
                for n in names
                if n.endswith(".py") and (opts.include_tests or not n.startswith("test_"))
            )
    elif source.kind == SITE_PACKAGES:
        files = [f for pkg in source.packages for f in pkg.files]
    elif source.kind == "dir":
        files = list(source.path.rglob(opts.glob))
    elif source.kind == SYNTHETIC:
        return []
    else:
        return [source.path]
    files = sorted(p for p in files if p.is_file())
    if not files:
        raise UserError(
            f"source {source.spec!r} holds no files matching {opts.glob!r}; check the folder or change --glob."
        )
    return files


def check_text(data: bytes | str, max_bytes: int) -> tuple[str | None, str | None]:
    """Validate one document: returns (text, None) or (None, skip reason)."""
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")  # lone surrogates from JSON escapes cannot be UTF-8
        except UnicodeEncodeError:
            return None, "not_utf8"
    else:
        raw = data
    if len(raw) > max_bytes:
        return None, "too_large"
    if not raw.strip():
        return None, "empty"
    if b"\x00" in raw:
        return None, "binary"
    if isinstance(data, str):
        return data, None
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "not_utf8"


def iter_documents(
    source: Source, files: list[Path], opts: SourceOptions, stats: SourceStats
) -> Iterator[Document]:
    """Yield the valid documents of one source, counting skips into `stats`."""
    if source.kind in FILE_KINDS:
        for p in files:
            stats.items_seen += 1
            try:
                if p.stat().st_size > opts.max_file_bytes:
                    stats.skipped["too_large"] += 1
                    continue
                data = p.read_bytes()
            except OSError:
                stats.skipped["unreadable"] += 1
                continue
            if source.kind == SITE_PACKAGES and looks_generated(
                data[: 4 * 1024].decode("utf-8", "replace")
            ):
                stats.skipped["generated"] += 1
                continue
            yield from _keep(str(p), data, opts, stats)
    elif source.kind == "jsonl":
        yield from _iter_jsonl(source.path, opts, stats)
    elif source.kind == "parquet":
        yield from _iter_parquet(source.path, opts, stats)
    elif source.kind == SYNTHETIC:  # generated after the real sources (build.py)
        return
    else:  # pragma: no cover - parse_source only makes the kinds above
        raise ValueError(source.kind)


def _keep(
    origin: str, data: bytes | str, opts: SourceOptions, stats: SourceStats
) -> Iterator[Document]:
    text, reason = check_text(data, opts.max_file_bytes)
    if reason is not None:
        stats.skipped[reason] += 1
        return
    stats.documents += 1
    yield Document(origin, text)


def _iter_jsonl(path: Path, opts: SourceOptions, stats: SourceStats) -> Iterator[Document]:
    field_name = opts.text_field
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            stats.items_seen += 1
            try:
                record = json.loads(line)
            except UnicodeDecodeError:
                stats.skipped["not_utf8"] += 1
                continue
            except json.JSONDecodeError as e:
                raise UserError(
                    f"{path} line {lineno} is not valid JSON ({e.msg}); fix or remove that line."
                ) from e
            if not isinstance(record, dict) or field_name not in record:
                keys = sorted(record) if isinstance(record, dict) else []
                raise UserError(
                    f"{path} line {lineno} has no text field {field_name!r} (fields: {', '.join(map(str, keys)) or 'none'}); "
                    "name the right one with --text-field."
                )
            value = record[field_name]
            if value is None:
                stats.skipped["empty"] += 1
                continue
            if not isinstance(value, str):
                stats.skipped["not_text"] += 1
                continue
            yield from _keep(f"{path}:{lineno}", value, opts, stats)


def _iter_parquet(path: Path, opts: SourceOptions, stats: SourceStats) -> Iterator[Document]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise UserError(
            "reading .parquet sources needs pyarrow; install it with `pip install 'sparsecircuits[parquet]'`."
        ) from e
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid and friends for non-parquet files
        raise UserError(f"{path} is not a readable parquet file ({e}); check the file.") from e
    names = pf.schema_arrow.names
    if opts.text_field not in names:
        raise UserError(
            f"{path} has no column {opts.text_field!r} (columns: {', '.join(names)}); name the right one with --text-field."
        )
    row = 0
    for batch in pf.iter_batches(columns=[opts.text_field], batch_size=1024):
        for value in batch.column(0).to_pylist():
            row += 1
            stats.items_seen += 1
            if value is None:
                stats.skipped["empty"] += 1
            elif isinstance(value, bytes | str):
                yield from _keep(f"{path}:row{row}", value, opts, stats)
            else:
                stats.skipped["not_text"] += 1
