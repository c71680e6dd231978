"""Read circuit JSON files (docs/circuit-schema.md) for the report, with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sparsecircuits.errors import UserError
from sparsecircuits.prune.circuit import read_json_object

SUPPORTED_SCHEMA_VERSIONS = (1,)
_REQUIRED = ("task", "nodes", "edges")


def _looks_like_circuit(obj: Any) -> bool:
    return isinstance(obj, dict) and "schema_version" in obj and "nodes" in obj


def read_circuit(path: str | Path) -> dict[str, Any]:
    """One circuit file as a dict; UserError if it is missing, not JSON, or not a circuit."""
    return _checked(Path(path), read_json_object(path))


def _checked(path: Path, obj: Any) -> dict[str, Any]:
    """`obj`, read from `path`, if it is a circuit the report can show; else UserError."""
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
                obj = read_json_object(p)
            except UserError:  # unreadable or not JSON: not a circuit
                continue
            if _looks_like_circuit(obj):
                found.append((p, _checked(p, obj)))
        if not found:
            raise UserError(
                f"no circuit JSON files in {path}; run `sparsecircuits prune RUN --task NAME --out {path}` first"
            )
        return found
    if not path.exists():
        raise UserError(f"{path} does not exist; pass a circuit JSON file or a folder of them")
    return [(path, read_circuit(path))]
