"""The sweep file: which models to train (or reuse), what to score them on, how to prune."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sparsecircuits import config as conf
from sparsecircuits.errors import UserError
from sparsecircuits.prune.config import PruneConfig

KINDS = ("sparse", "dense")


@dataclass
class ModelEntry:
    """One model of the grid: a training preset (plus --set overrides) or an already trained run."""

    name: str
    kind: str  # "sparse" or "dense"
    config: str = ""  # a TOML preset (configs/...); needed unless `run` holds a finished run
    run: str = ""  # reuse this run folder instead of training into the sweep folder
    set: list[str] = field(default_factory=list)  # --set overrides of the preset


@dataclass
class SweepSettings:
    """The `[sweep]` table."""

    corpus: str = "data/py-large"
    tasks: list[str] = field(default_factory=list)  # default: all twenty
    eval_pairs: int = 256  # held-out pairs per task when scoring a model
    target_loss: float = 0.15
    size_targets: list[float] = field(
        default_factory=lambda: [0.1, 0.3]
    )  # extra targets for size_vs_loss


SWEEP_RULES: conf.Rules = {
    "eval_pairs": conf.between(1, 100_000),
    "target_loss": conf.at_least(1e-6),
}
ENTRY_RULES: conf.Rules = {"kind": conf.one_of(*KINDS)}


@dataclass
class Sweep:
    """A whole sweep file."""

    settings: SweepSettings
    prune: PruneConfig
    models: list[ModelEntry]
    source: Path


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file; UserError naming the first problem."""
    path = Path(path)
    data = conf.read_toml(path, "sweep file")
    unknown = sorted(set(data) - {"sweep", "prune", "models"})
    if unknown:
        raise UserError(
            f"unknown table [{unknown[0]}] in {path}; use [sweep], [prune] and [[models]]."
        )
    settings = conf.from_table(SweepSettings, data.get("sweep", {}), "sweep", str(path))
    conf.check_values(settings, "sweep", SWEEP_RULES)
    prune = PruneConfig.from_dict(
        {"target_loss": settings.target_loss, **data.get("prune", {})}, str(path)
    )
    raw = data.get("models") or []
    if not isinstance(raw, list) or not raw:
        raise UserError(f"{path} lists no [[models]]; add at least one sparse and one dense model.")
    models = []
    for i, m in enumerate(raw):
        entry = conf.from_table(ModelEntry, m, f"models[{i}]", str(path))
        conf.check_values(entry, f"models[{i}]", ENTRY_RULES)
        if not entry.config and not entry.run:
            raise UserError(
                f"models[{i}] ({entry.name}) in {path} needs a config preset or a run folder."
            )
        if entry.config and not Path(entry.config).is_file():
            raise UserError(f"models[{i}] ({entry.name}): config {entry.config} does not exist.")
        models.append(entry)
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: model names must be distinct ({', '.join(names)}).")
    if not {m.kind for m in models} >= set(KINDS):
        raise UserError(
            f"{path}: a sweep needs at least one sparse and one dense model to compare."
        )
    return Sweep(settings, prune, models, path)
