"""The corpus folder's `manifest.json`: names, format version, and reading it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sparsecircuits.errors import UserError

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"


def shard_name(split: str, index: int) -> str:
    """File name of shard `index` of `split`, e.g. `train_000.bin`."""
    return f"{split}_{index:03d}.bin"


def load_manifest(corpus_dir: str | Path) -> dict[str, Any]:
    """Read and check a corpus folder's manifest."""
    corpus_dir = Path(corpus_dir)
    path = corpus_dir / MANIFEST_FILE
    if not path.is_file():
        raise UserError(
            f"{corpus_dir} is not a corpus folder (no {MANIFEST_FILE}); build one with `sparsecircuits corpus build`."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is unreadable ({e}); rebuild the corpus.") from e
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise UserError(
            f"{path} has format version {version}, this sparsecircuits reads {FORMAT_VERSION}; rebuild the corpus."
        )
    return manifest
