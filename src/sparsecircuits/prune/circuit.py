"""The Circuit type and its JSON file (schema in docs/circuit-schema.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.prune.nodes import Keep, keep_from_ids

SCHEMA_VERSION = 1
_REQUIRED = (
    "schema_version",
    "model",
    "task",
    "ablation",
    "target_loss",
    "losses",
    "nodes",
    "edges",
    "counts",
)


@dataclass
class Circuit:
    """A pruned circuit: kept nodes, edges between them, the losses that justify it, and provenance."""

    model: dict[str, Any]
    task: dict[str, Any]
    ablation: str
    seed: int
    target_loss: float
    losses: dict[str, Any]
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    counts: dict[str, int]
    curve: list[dict[str, Any]] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    time_seconds: float = 0.0
    created: str = ""
    validation: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def node_ids(self) -> list[str]:
        """Ids of the kept nodes."""
        return [n["id"] for n in self.nodes]

    def keep(self, widths: dict[str, int]) -> Keep:
        """Per-site boolean keep masks for a model with these site widths."""
        return keep_from_ids(widths, self.node_ids)

    def to_json(self) -> dict[str, Any]:
        """The circuit as a JSON-ready dict, keys in schema order."""
        return {
            "schema_version": self.schema_version,
            "model": self.model,
            "task": self.task,
            "ablation": self.ablation,
            "seed": self.seed,
            "target_loss": self.target_loss,
            "losses": self.losses,
            "nodes": self.nodes,
            "edges": self.edges,
            "counts": self.counts,
            "curve": self.curve,
            "hyperparameters": self.hyperparameters,
            "time_seconds": self.time_seconds,
            "created": self.created,
            "validation": self.validation,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Circuit:
        """Build from a parsed circuit file, checking the schema version and required keys."""
        if not isinstance(d, dict):
            raise UserError(
                "a circuit file must hold one JSON object; regenerate it with `sparsecircuits prune`"
            )
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise UserError(
                f"circuit file lacks {', '.join(missing)}; regenerate it with `sparsecircuits prune`"
            )
        if d["schema_version"] != SCHEMA_VERSION:
            raise UserError(
                f"circuit schema version {d['schema_version']} is not supported (this version reads {SCHEMA_VERSION}); regenerate it with `sparsecircuits prune`"
            )
        return cls(
            model=d["model"],
            task=d["task"],
            ablation=d["ablation"],
            seed=int(d.get("seed", 0)),
            target_loss=float(d["target_loss"]),
            losses=d["losses"],
            nodes=d["nodes"],
            edges=d["edges"],
            counts=d["counts"],
            curve=d.get("curve", []),
            hyperparameters=d.get("hyperparameters", {}),
            time_seconds=float(d.get("time_seconds", 0.0)),
            created=d.get("created", ""),
            validation=d.get("validation"),
            schema_version=int(d["schema_version"]),
        )


def save_circuit(circuit: Circuit, path: str | Path) -> None:
    """Write a circuit file atomically."""
    atomic_write_json(path, circuit.to_json())


def read_json_object(path: str | Path) -> Any:
    """A circuit file's parsed JSON, with a clear error for a missing, unreadable or unparsable
    one (the one reader of circuit files; callers check the schema)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"circuit file {path} does not exist; create it with `sparsecircuits prune`"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(
            f"cannot read circuit file {path} ({e.strerror}); check its permissions"
        ) from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(
            f"circuit file {path} is not valid JSON ({e}); regenerate it with `sparsecircuits prune`"
        ) from None


def read_circuit_json(path: str | Path) -> dict[str, Any]:
    """A circuit file as a raw dict, schema-checked; fields this version does not know survive."""
    data = read_json_object(path)
    Circuit.from_json(data)  # raises UserError naming what is wrong
    return data


def load_circuit(path: str | Path) -> Circuit:
    """Read a circuit file, with a clear error for a missing or malformed one."""
    return Circuit.from_json(read_json_object(path))


def weights_of_edges(edges: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    """Edge tuples as schema dicts."""
    return [{"src": s, "dst": d, "weight": float(w)} for s, d, w in edges]
