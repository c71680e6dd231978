"""Read circuit JSON files (docs/circuit-schema.md) for the report, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sparsecircuits.errors import UserError

SUPPORTED_SCHEMA_VERSIONS = (1,)
_REQUIRED = ("task", "nodes", "edges")


def _looks_like_circuit(obj: Any) -> bool:
    return isinstance(obj, dict) and "schema_version" in obj and "nodes" in obj


def read_circuit(path: str | Path) -> dict[str, Any]:
    """One circuit file as a dict; UserError if it is missing, not JSON, or not a circuit."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UserError(
            f"circuit file {path} does not exist; pass a circuit JSON file or a folder of them"
        ) from None
    except OSError as e:
        raise UserError(
            f"cannot read circuit file {path} ({e.strerror}); check its permissions"
        ) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(
            f"{path} is not valid JSON (line {e.lineno}: {e.msg}); regenerate it with `sparsecircuits prune`"
        ) from None
    if not isinstance(obj, dict):
        raise UserError(
            f"{path} is not a circuit file (expected a JSON object); regenerate it with `sparsecircuits prune`"
        )
    version = obj.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UserError(
            f"{path} has circuit schema_version {version!r}, but this sparsecircuits reads "
            f"{', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}; upgrade sparsecircuits or regenerate the file"
        )
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise UserError(
            f"{path} lacks the field(s) {', '.join(missing)}; regenerate it with `sparsecircuits prune`"
        )
    if not isinstance(obj["nodes"], list) or not isinstance(obj["edges"], list):
        raise UserError(
            f"{path} has malformed nodes/edges lists; regenerate it with `sparsecircuits prune`"
        )
    return obj


def find_circuits(path: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """The circuit(s) at `path`: one file, or every circuit JSON in a folder (sorted by name).

    In a folder, JSON files that are not circuits (configs, metrics) are skipped silently.
    """
    path = Path(path)
    if path.is_dir():
        found = []
        for p in sorted(path.glob("*.json")):
            try:
                obj = json.loads(p.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            if _looks_like_circuit(obj):
                found.append((p, read_circuit(p)))
        if not found:
            raise UserError(
                f"no circuit JSON files in {path}; run `sparsecircuits prune RUN --task NAME --out {path}` first"
            )
        return found
    if not path.exists():
        raise UserError(f"{path} does not exist; pass a circuit JSON file or a folder of them")
    return [(path, read_circuit(path))]
