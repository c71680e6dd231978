"""The circuit file (schema in docs/circuit-schema.md): typed records, the one reader, the one writer.

`read_circuit` checks a file against the schema once, at the boundary, and returns typed
records; every later stage trusts them. Fields this version does not know are kept in
`Circuit.extra` and written back, so a newer file survives a round trip.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sparsecircuits.core import ABLATIONS
from sparsecircuits.core.nodes import parse_node_id
from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_write_json

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
JSONObject = dict[str, JSON]
SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)
FIX = "regenerate it with `sparsecircuits prune`"
# A loss of a binary choice this large means a broken file, not a bad circuit (chance is 0.69).
MAX_LOSS = 1e4


@dataclass(frozen=True)
class ModelRef:
    """The run a circuit was pruned from: its folder as given, weights hash and model config."""

    run: str
    weights_sha256: str
    config: JSONObject


@dataclass(frozen=True)
class TaskRef:
    """The task a circuit performs and how many pairs it was pruned and measured on."""

    name: str
    description: str
    class_pos: str
    class_neg: str
    n_train: int
    n_heldout: int
    seed: int
    source: str | None = None  # a task file's path (None for a built-in task)
    source_sha256: str | None = None


@dataclass(frozen=True)
class NodeRecord:
    """One kept node: its id, where it sits, its mask logit and its ablation delta."""

    id: str
    layer: int
    site: str
    index: int
    tau: float | None
    ablation_delta: float | None


@dataclass(frozen=True)
class EdgeRecord:
    """A nonzero weight between two kept nodes (METHOD section 6)."""

    src: str
    dst: str
    weight: float


@dataclass(frozen=True)
class Losses:
    """Held-out task losses of the full model and of the circuit."""

    full_model: float
    circuit: float
    full_model_accuracy: float | None = None
    circuit_accuracy: float | None = None
    circuit_calibrated: float | None = None
    calibration: dict[str, float] | None = None


@dataclass(frozen=True)
class Counts:
    """Sizes: kept nodes, edges among them, all nodes of the model."""

    nodes: int
    edges: int
    model_nodes: int


@dataclass(frozen=True)
class CurvePoint:
    """One size the bisection tried and its held-out loss."""

    nodes: int
    loss: float | None


@dataclass(frozen=True)
class FaithfulnessCurve:
    """Held-out loss and faithfulness along the pruning order, per ablation (prune/faithfulness.py)."""

    fractions: list[float]  # kept share of all nodes at each point
    nodes: list[int]  # kept nodes at each point (the circuit's own size included)
    full_model_loss: float
    losses: dict[str, list[float]]  # ablation -> loss at each point
    faithfulness: dict[str, list[float | None]]  # (L(empty) - L(k)) / (L(empty) - L(full))
    area: dict[str, float | None]  # area under faithfulness over fractions (MIB CPR, higher better)
    deviation: dict[str, float | None]  # area between faithfulness and 1 (MIB CMD, lower better)
    circuit_nodes: int


@dataclass(frozen=True)
class Connectivity:
    """The connectivity pass: kept nodes with no input-to-logits path, dropped if the loss allows."""

    dropped: int  # nodes without a path
    applied: bool  # whether they were dropped (False: the circuit without them missed the target)
    loss_before: float
    loss_after: float
    dropped_nodes: list[str]


@dataclass(frozen=True)
class Stability:
    """The same task pruned with several seeds (and resampled pairs): how often each node is kept."""

    seeds: list[int]
    nodes: list[int]  # circuit size per seed
    losses: list[float]  # circuit loss per seed, on its own held-out pairs
    node_fraction: dict[str, float]  # node id -> share of runs that kept it (every node kept once)
    core_threshold: float  # a node is in the core when kept in at least this share of runs
    core: list[str]
    core_loss: dict[str, float]  # the core alone, on this circuit's held-out pairs, per ablation
    core_sufficient: bool  # core_loss under the circuit's objective <= the target


@dataclass
class CheckRecord:
    """One validation check's result: what it measured (`values`), its rule, its verdict, its time."""

    passed: bool
    threshold: str
    seconds: float = 0.0
    values: JSONObject = field(default_factory=dict)
    summary: str = ""  # one line for the printed table

    def to_json(self) -> JSONObject:
        """Flat, as in the file: the measured values, then summary, threshold, passed, seconds."""
        return {
            **self.values,
            "summary": self.summary,
            "threshold": self.threshold,
            "passed": self.passed,
            "seconds": self.seconds,
        }


@dataclass
class Validation:
    """What `sparsecircuits validate` wrote: per-check records and the overall verdict."""

    checks: dict[str, CheckRecord]
    verdict: str
    checks_run: list[str]
    seed: int
    config: JSONObject
    settings_key: str
    time_seconds: float
    created: str

    def to_json(self) -> JSONObject:
        """The `validation` object of the file."""
        return {
            "checks": {name: rec.to_json() for name, rec in self.checks.items()},
            "verdict": self.verdict,
            "checks_run": list(self.checks_run),
            "seed": self.seed,
            "config": self.config,
            "settings_key": self.settings_key,
            "time_seconds": self.time_seconds,
            "created": self.created,
        }


@dataclass
class Circuit:
    """A pruned circuit: kept nodes, edges between them, the losses that justify it, and provenance."""

    model: ModelRef
    task: TaskRef
    ablation: str
    seed: int
    target_loss: float
    losses: Losses
    nodes: list[NodeRecord]
    edges: list[EdgeRecord]
    counts: Counts
    curve: list[CurvePoint] = field(default_factory=list)
    hyperparameters: JSONObject = field(default_factory=dict)
    time_seconds: float = 0.0
    created: str = ""
    validation: Validation | None = None
    faithfulness: FaithfulnessCurve | None = None
    connectivity: Connectivity | None = None
    stability: Stability | None = None
    schema_version: int = SCHEMA_VERSION
    extra: JSONObject = field(default_factory=dict)  # fields this version does not know

    @property
    def node_ids(self) -> list[str]:
        """Ids of the kept nodes."""
        return [n.id for n in self.nodes]

    def to_json(self) -> JSONObject:
        """The circuit as a JSON-ready dict, keys in schema order."""
        return {
            "schema_version": self.schema_version,
            "model": _plain(self.model),
            "task": {k: v for k, v in _plain(self.task).items() if v is not None},
            "ablation": self.ablation,
            "seed": self.seed,
            "target_loss": self.target_loss,
            "losses": _plain(self.losses),
            "nodes": [_plain(n) for n in self.nodes],
            "edges": [_plain(e) for e in self.edges],
            "counts": _plain(self.counts),
            "curve": [_plain(p) for p in self.curve],
            "hyperparameters": self.hyperparameters,
            "time_seconds": self.time_seconds,
            "created": self.created,
            "validation": self.validation.to_json() if self.validation else None,
            **{
                k: _plain(v)
                for k, v in (
                    ("faithfulness", self.faithfulness),
                    ("connectivity", self.connectivity),
                    ("stability", self.stability),
                )
                if v is not None
            },
            **self.extra,
        }


def _plain(record: object) -> JSONObject:
    return dict(vars(record))


# ---- reading: every check of the schema in one place ------------------------------------------

T = TypeVar("T")


class _Reader:
    """Typed field access on parsed JSON, with errors naming the file and the field's path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> UserError:
        return UserError(f"circuit file {self.path}: {where} {problem}; {FIX}.")

    def obj(self, value: JSON, where: str) -> JSONObject:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a JSON object, not {_kind(value)}")
        return value

    def get(self, d: JSONObject, key: str, where: str, required: bool = True) -> JSON:
        if key not in d:
            if required:
                raise self.fail(f"{where}.{key}" if where else key, "is missing")
            return None
        return d[key]

    def text(self, d: JSONObject, key: str, where: str, required: bool = True) -> str | None:
        v = self.get(d, key, where, required)
        if v is None and not required:
            return None
        if not isinstance(v, str):
            raise self.fail(_at(where, key), f"must be a string, not {_kind(v)}")
        return v

    def integer(self, d: JSONObject, key: str, where: str, lo: int = 0, hi: int = 10**9) -> int:
        v = self.get(d, key, where)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(_at(where, key), f"must be an integer, not {_kind(v)}")
        if not lo <= v <= hi:
            raise self.fail(_at(where, key), f"is {v}, outside {lo}..{hi}")
        return v

    def number(
        self,
        d: JSONObject,
        key: str,
        where: str,
        required: bool = True,
        lo: float = -math.inf,
        hi: float = math.inf,
    ) -> float | None:
        v = self.get(d, key, where, required)
        if v is None and not required:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(_at(where, key), f"must be a number, not {_kind(v)}")
        if not (math.isfinite(v) and lo <= v <= hi):
            raise self.fail(_at(where, key), f"is {v}, outside [{lo:g}, {hi:g}]")
        return float(v)

    def items(self, d: JSONObject, key: str, read: Callable[[JSONObject, str], T]) -> list[T]:
        v = self.get(d, key, "")
        if not isinstance(v, list):
            raise self.fail(key, f"must be a list, not {_kind(v)}")
        return [read(self.obj(x, f"{key}[{i}]"), f"{key}[{i}]") for i, x in enumerate(v)]

    def node_id(self, d: JSONObject, key: str, where: str) -> str:
        text = self.text(d, key, where)
        assert text is not None
        try:
            parse_node_id(text)
        except UserError:
            raise self.fail(
                _at(where, key), f"is {text!r}, not a node id like '3.attn.q:17'"
            ) from None
        return text


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(v: JSON) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(v), "null" if v is None else "a number"
    )


def circuit_from_json(data: JSON, path: Path) -> Circuit:
    """Check parsed JSON against the schema and build the typed Circuit; UserError naming the first problem."""
    r = _Reader(path)
    d = r.obj(data, "the top level")
    version = d.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UserError(
            f"circuit file {path} has schema_version {version!r}, but this sparsecircuits reads "
            f"{', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}; upgrade sparsecircuits or {FIX}."
        )
    m = r.obj(r.get(d, "model", ""), "model")
    model = ModelRef(
        run=r.text(m, "run", "model") or "",
        weights_sha256=r.text(m, "weights_sha256", "model", required=False) or "",
        config=r.obj(m.get("config") or {}, "model.config"),
    )
    t = r.obj(r.get(d, "task", ""), "task")
    task = TaskRef(
        name=r.text(t, "name", "task") or "",
        description=r.text(t, "description", "task", required=False) or "",
        class_pos=r.text(t, "class_pos", "task", required=False) or "",
        class_neg=r.text(t, "class_neg", "task", required=False) or "",
        n_train=r.integer(t, "n_train", "task", 0, 10**7) if "n_train" in t else 0,
        n_heldout=r.integer(t, "n_heldout", "task", 1, 10**7) if "n_heldout" in t else 64,
        seed=r.integer(t, "seed", "task", -(2**63), 2**63) if "seed" in t else 0,
        source=r.text(t, "source", "task", required=False),
        source_sha256=r.text(t, "source_sha256", "task", required=False),
    )
    ablation = r.text(d, "ablation", "")
    if ablation not in ABLATIONS:
        raise r.fail("ablation", f"is {ablation!r}, not one of {', '.join(ABLATIONS)}")
    lo = r.obj(r.get(d, "losses", ""), "losses")

    def loss(key: str, required: bool = False) -> float | None:
        return r.number(lo, key, "losses", required, 0.0, MAX_LOSS)

    calib = lo.get("calibration")
    losses = Losses(
        full_model=loss("full_model", True) or 0.0,
        circuit=loss("circuit", True) or 0.0,
        full_model_accuracy=r.number(lo, "full_model_accuracy", "losses", False, 0.0, 1.0),
        circuit_accuracy=r.number(lo, "circuit_accuracy", "losses", False, 0.0, 1.0),
        circuit_calibrated=loss("circuit_calibrated"),
        calibration=(
            {
                k: r.number(r.obj(calib, "losses.calibration"), k, "losses.calibration") or 0.0
                for k in ("scale", "shift")
            }
            if calib is not None
            else None
        ),
    )

    def node(x: JSONObject, where: str) -> NodeRecord:
        nid = parse_node_id(r.node_id(x, "id", where))
        return NodeRecord(
            id=str(nid),
            layer=nid.layer,
            site=nid.site,
            index=nid.index,
            tau=r.number(x, "tau", where, required=False),
            ablation_delta=r.number(x, "ablation_delta", where, required=False),
        )

    def edge(x: JSONObject, where: str) -> EdgeRecord:
        return EdgeRecord(
            src=r.node_id(x, "src", where),
            dst=r.node_id(x, "dst", where),
            weight=r.number(x, "weight", where) or 0.0,
        )

    def point(x: JSONObject, where: str) -> CurvePoint:
        return CurvePoint(
            nodes=r.integer(x, "nodes", where, 0, 10**8),
            loss=r.number(x, "loss", where, False, 0.0, MAX_LOSS),
        )

    nodes = r.items(d, "nodes", node)
    edges = r.items(d, "edges", edge)
    c = r.obj(r.get(d, "counts", ""), "counts")
    counts = Counts(
        nodes=r.integer(c, "nodes", "counts", 0, 10**8),
        edges=r.integer(c, "edges", "counts", 0, 10**9),
        model_nodes=r.integer(c, "model_nodes", "counts", 0, 10**8) if "model_nodes" in c else 0,
    )
    if counts.nodes != len(nodes):
        raise r.fail("counts.nodes", f"is {counts.nodes} but the file lists {len(nodes)} nodes")
    kept = {n.id for n in nodes}
    for i, e in enumerate(edges):
        for end in (e.src, e.dst):
            if end not in kept:
                raise r.fail(f"edges[{i}]", f"joins {end!r}, which is not a node of the circuit")
    known = set(TOP_LEVEL_FIELDS)
    return Circuit(
        model=model,
        task=task,
        ablation=ablation,
        seed=r.integer(d, "seed", "", -(2**63), 2**63) if "seed" in d else 0,
        target_loss=r.number(d, "target_loss", "", lo=1e-9, hi=MAX_LOSS) or 0.0,
        losses=losses,
        nodes=nodes,
        edges=edges,
        counts=counts,
        curve=r.items(d, "curve", point) if "curve" in d else [],
        hyperparameters=r.obj(d.get("hyperparameters") or {}, "hyperparameters"),
        time_seconds=r.number(d, "time_seconds", "", False, 0.0) or 0.0,
        created=r.text(d, "created", "", required=False) or "",
        validation=_validation(r, d.get("validation")),
        faithfulness=_record(r, d, "faithfulness", FaithfulnessCurve),
        connectivity=_record(r, d, "connectivity", Connectivity),
        stability=_record(r, d, "stability", Stability),
        schema_version=int(version),
        extra={k: v for k, v in d.items() if k not in known},
    )


TOP_LEVEL_FIELDS = (
    "schema_version",
    "model",
    "task",
    "ablation",
    "seed",
    "target_loss",
    "losses",
    "nodes",
    "edges",
    "counts",
    "curve",
    "hyperparameters",
    "time_seconds",
    "created",
    "validation",
    "faithfulness",
    "connectivity",
    "stability",
)


R = TypeVar("R")


def _record(r: _Reader, d: JSONObject, key: str, cls: type[R]) -> R | None:
    """An optional record of plain fields: every field present, numbers finite, lists and maps as declared."""
    v = d.get(key)
    if v is None:
        return None
    x = r.obj(v, key)
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in x:
            raise r.fail(f"{key}.{f.name}", "is missing")
        values[f.name] = _checked(r, x[f.name], f"{key}.{f.name}")
    return cls(**values)


def _checked(r: _Reader, v: JSON, where: str) -> JSON:
    """`v` if it holds only finite numbers, strings, booleans, nulls, lists and objects."""
    if isinstance(v, float) and not math.isfinite(v):
        raise r.fail(where, f"is {v}, not a finite number")
    if isinstance(v, list):
        for i, item in enumerate(v):
            _checked(r, item, f"{where}[{i}]")
    elif isinstance(v, dict):
        for k, item in v.items():
            _checked(r, item, f"{where}.{k}")
    return v


_CHECK_FIELDS = ("passed", "threshold", "seconds", "summary")


def _validation(r: _Reader, v: JSON) -> Validation | None:
    if v is None:
        return None
    d = r.obj(v, "validation")
    raw_checks = r.obj(d.get("checks") or {}, "validation.checks")
    checks: dict[str, CheckRecord] = {}
    for name, rec in raw_checks.items():
        where = f"validation.checks.{name}"
        x = r.obj(rec, where)
        passed = x.get("passed")
        if not isinstance(passed, bool):
            raise r.fail(f"{where}.passed", f"must be true or false, not {_kind(passed)}")
        checks[name] = CheckRecord(
            passed=passed,
            threshold=r.text(x, "threshold", where, required=False) or "",
            seconds=r.number(x, "seconds", where, False, 0.0) or 0.0,
            summary=r.text(x, "summary", where, required=False) or "",
            values={k: val for k, val in x.items() if k not in _CHECK_FIELDS},
        )
    run = d.get("checks_run") or []
    if not isinstance(run, list) or not all(isinstance(x, str) for x in run):
        raise r.fail("validation.checks_run", "must be a list of check names")
    return Validation(
        checks=checks,
        verdict=r.text(d, "verdict", "validation", required=False) or "incomplete",
        checks_run=[str(x) for x in run],
        seed=r.integer(d, "seed", "validation", -(2**63), 2**63) if "seed" in d else 0,
        config=r.obj(d.get("config") or {}, "validation.config"),
        settings_key=r.text(d, "settings_key", "validation", required=False) or "",
        time_seconds=r.number(d, "time_seconds", "validation", False, 0.0) or 0.0,
        created=r.text(d, "created", "validation", required=False) or "",
    )


def read_json(path: str | Path, what: str = "circuit file") -> JSON:
    """A JSON file's parsed content, with one clear error for a missing, unreadable, non-UTF-8 or unparsable file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist; check the path.")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise UserError(
            f"cannot read {what} {path} ({e.strerror}); check its permissions."
        ) from None
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not UTF-8 text; {FIX}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{what} {path} is not valid JSON ({e}); {FIX}.") from None


def read_circuit(path: str | Path) -> Circuit:
    """The one reader of circuit files: parse, check against the schema, return typed records."""
    return circuit_from_json(read_json(path), Path(path))


def looks_like_circuit(data: JSON) -> bool:
    """True for a JSON object that claims to be a circuit (a folder's other JSON files are not)."""
    return isinstance(data, dict) and "schema_version" in data and "nodes" in data


def save_circuit(circuit: Circuit, path: str | Path) -> None:
    """Write a circuit file atomically."""
    atomic_write_json(path, circuit.to_json())
