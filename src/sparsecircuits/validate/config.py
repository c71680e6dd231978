"""Validation settings: which checks exist, their sizes and their pass thresholds."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sparsecircuits.config import (
    Rules,
    at_least,
    between,
    check_values,
    from_table,
    parse_sets,
    positive,
)
from sparsecircuits.errors import UserError

LN2 = math.log(2.0)

# Short names accepted by `--checks`: "all" is every registered check, "controls" every control.
CHECK_ALIASES = ("all", "controls")


@dataclass
class ValidationConfig:
    """Every knob of `sparsecircuits validate`; the defaults are documented in docs/validation.md."""

    # Sufficiency: circuit alone, rest ablated.
    resample_factor: float = 2.0  # resample-ablation loss must be <= this x target
    # Necessity: only the circuit ablated (mean ablation), rest kept.
    necessity_chance_fraction: float = 0.5  # loss >= this x ln 2 ...
    necessity_margin: float = 0.3  # ... or loss >= full-model loss + this (the larger of the two)
    # Stochastic ablation: circuit kept, a random subset of the other nodes resampled.
    stochastic_draws: int = 32
    stochastic_fraction: float = 0.5  # share of non-circuit nodes resampled per draw
    stochastic_mean_factor: float = 2.0  # mean over draws must be <= this x target
    stochastic_worst_factor: float = 4.0  # worst draw must be <= this x target
    # Binarisation: each circuit node replaced by a two-level step function.
    binarise_fractions: tuple[float, ...] = (0.25, 0.5, 0.75)
    binarise_factor: float = 2.0  # binarised loss must be <= this x target
    binarise_fit_pairs: int = (
        64  # train-split pairs used to choose thresholds (one forward per candidate per node)
    )
    # Controls: a control passes if it needs >= this x the real circuit's edges (or fails).
    control_edge_factor: float = 4.0
    # Evaluation.
    batch_size: int = 128  # prompts per forward pass

    def __post_init__(self) -> None:
        self.binarise_fractions = tuple(float(f) for f in self.binarise_fractions)
        check_values(self, "validate", VALIDATE_RULES)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (stored with the results)."""
        d = asdict(self)
        d["binarise_fractions"] = list(self.binarise_fractions)
        return d

    @classmethod
    def from_overrides(cls, overrides: list[str]) -> ValidationConfig:
        """Build a config from `--set KEY=VALUE` (or `validate.KEY=VALUE`) strings."""
        sets = parse_sets(overrides, {"validate": ValidationConfig}, default="validate")
        return from_table(cls, sets["validate"], "validate", "--set")


def _fractions(v: tuple[float, ...]) -> bool:
    return bool(v) and all(0.0 < f < 1.0 for f in v)


VALIDATE_RULES: Rules = {
    "resample_factor": positive(),
    "necessity_chance_fraction": between(0, 1),
    "necessity_margin": at_least(0),
    "stochastic_draws": between(1, 100_000),
    "stochastic_fraction": (lambda v: 0.0 < v <= 1.0, "in (0, 1]"),
    "stochastic_mean_factor": positive(),
    "stochastic_worst_factor": positive(),
    "binarise_fractions": (_fractions, "numbers strictly between 0 and 1, like 0.25,0.5,0.75"),
    "binarise_factor": positive(),
    "binarise_fit_pairs": between(1, 100_000),
    "control_edge_factor": positive(),
    "batch_size": at_least(1),
}


def parse_checks(spec: str) -> list[str]:
    """Turn `--checks` text (comma list, names or aliases) into registered check names in run order."""
    from sparsecircuits.validate.checks import REGISTRY

    names = list(REGISTRY)

    wanted: set[str] = set()
    for raw in spec.split(","):
        name = raw.strip()
        if not name:
            continue
        if name == "all":
            wanted.update(names)
        elif name == "controls":
            wanted.update(c for c in names if c.startswith("control_"))
        elif name in names:
            wanted.add(name)
        else:
            choices = ", ".join([*CHECK_ALIASES, *names])
            raise UserError(f"unknown check {name!r} in --checks; choose from: {choices}.")
    if not wanted:
        raise UserError(
            "--checks names no check; pass e.g. --checks all or --checks sufficiency,necessity."
        )
    return [c for c in names if c in wanted]
