"""The circuit files a report shows: one file, or every circuit file in a folder."""

from __future__ import annotations

from pathlib import Path

from sparsecircuits.core.circuit import Circuit, circuit_from_json, looks_like_circuit, read_json
from sparsecircuits.errors import UserError


def find_circuits(path: str | Path) -> list[tuple[Path, Circuit]]:
    """The circuit(s) at `path`: one file, or every circuit JSON in a folder (sorted by name).

    In a folder, JSON files that are not circuits (configs, metrics) are skipped silently; a file
    that claims to be a circuit but breaks the schema is an error naming the file and field.
    """
    path = Path(path)
    if path.is_dir():
        found = []
        for p in sorted(path.glob("*.json")):
            try:
                data = read_json(p)
            except UserError:  # unreadable or not JSON: not a circuit
                continue
            if looks_like_circuit(data):
                found.append((p, circuit_from_json(data, p)))
        if not found:
            raise UserError(
                f"no circuit JSON files in {path}; run `sparsecircuits prune RUN --task NAME --out {path}` first"
            )
        return found
    if not path.exists():
        raise UserError(f"{path} does not exist; pass a circuit JSON file or a folder of them")
    return [(path, circuit_from_json(read_json(path), path))]
