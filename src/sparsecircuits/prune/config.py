"""PruneConfig: every hyperparameter of circuit extraction, with METHOD defaults or ours."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparsecircuits import config as conf
from sparsecircuits.core import ABLATIONS
from sparsecircuits.tasks.base import PROMPT_LEN

if TYPE_CHECKING:
    from sparsecircuits.core.stats import StatsSettings


@dataclass
class PruneConfig:
    """Hyperparameters of one pruning run; `(ours)` marks defaults that differ from METHOD section 5."""

    target_loss: float = 0.15
    ablation: str = "mean"
    seed: int = 0
    # Task data. METHOD uses the full context; short prompts keep CPU pruning fast (ours).
    n_train: int = 256
    n_heldout: int = 64
    max_len: int = PROMPT_LEN  # (ours: 32) METHOD: the full context, 256
    # Mask training (METHOD section 5).
    steps: int = 100  # (ours) METHOD: a few thousand
    batch_size: int = 8  # pairs per step (ours) METHOD: 64
    lr: float = 1e-2  # (ours, so few steps can move tau across 0) METHOD: 3e-3
    weight_decay: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.95
    k_coef: float = 1e-4
    tau_init_mean: float = 0.1
    tau_init_std: float = 0.01
    temperature: float = 1.0
    # Mean-activation cache (ablation statistics) from held-out corpus text.
    mean_tokens: int = 131072
    mean_seq_len: int = 256
    mean_seed: int = 0
    mean_split: str = "val"  # corpus split the means come from (METHOD: held-out text)
    bank_size: int = 256  # per-position activation vectors kept for resample ablation
    # Evaluation.
    eval_batch_size: int = 128  # prompts per forward pass
    calibrate: bool = True
    calibration_steps: int = 16
    node_deltas: bool = True
    connect: bool = True  # drop kept nodes with no input-to-logits path (if the target still holds)
    curves: bool = True  # faithfulness curves under mean, zero and resample ablation
    # Stability: prune with seeds seed .. seed + seeds - 1 (each with its own pairs); the core
    # is the nodes kept in at least stability_threshold of the runs.
    seeds: int = 1
    stability_threshold: float = 0.8
    delta_pairs: int = 16  # held-out pairs for per-node ablation deltas (ours: keeps them cheap)
    # Hyperparameter search (0 = off).
    search_trials: int = 0
    jobs: int = 2

    def __post_init__(self) -> None:
        conf.check_values(self, "prune", PRUNE_RULES)

    def stats_settings(self) -> StatsSettings:
        """The corpus sample the ablation statistics come from."""
        from sparsecircuits.core.stats import StatsSettings

        return StatsSettings(
            n_tokens=self.mean_tokens,
            seq_len=self.mean_seq_len,
            seed=self.mean_seed,
            bank_size=self.bank_size,
            split=self.mean_split,
        )

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (for the circuit file)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> PruneConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "prune settings") -> PruneConfig:
        """Build from a dict of fields, converting each by its type and naming any unknown key."""
        return conf.from_table(cls, d, "prune", source)

    def with_overrides(self, items: list[str]) -> PruneConfig:
        """Apply `--set KEY=VALUE` (or `prune.KEY=VALUE`) overrides, each converted by the field's type."""
        sets = conf.parse_sets(items, {"prune": PruneConfig}, default="prune")["prune"]
        return PruneConfig.from_dict({**conf.to_table(self), **sets}, "--set")

    @classmethod
    def from_toml(cls, path: str | Path) -> PruneConfig:
        """Read a TOML file holding the fields at top level or in a `[prune]` table."""
        data = conf.read_toml(path, "prune config")
        return cls.from_dict(data.get("prune", data), str(path))


PRUNE_RULES: conf.Rules = {
    "target_loss": conf.positive(),
    "ablation": conf.one_of(*ABLATIONS),
    "seed": conf.between(0, 2**63 - 1),
    "n_train": conf.between(1, 100_000),
    "n_heldout": conf.between(1, 100_000),
    "max_len": conf.at_least(2),
    "steps": conf.between(1, 10**6),
    "batch_size": conf.at_least(1),
    "lr": conf.positive(),
    "weight_decay": conf.at_least(0),
    "beta1": conf.between(0, 1, closed_hi=False),
    "beta2": conf.between(0, 1, closed_hi=False),
    "k_coef": conf.at_least(0),
    "tau_init_std": conf.at_least(0),
    "temperature": conf.positive(),
    "mean_tokens": conf.at_least(1),
    "mean_seq_len": conf.at_least(2),
    "mean_seed": conf.between(0, 2**63 - 1),
    "mean_split": conf.one_of("train", "val"),
    "bank_size": conf.at_least(1),
    "eval_batch_size": conf.at_least(1),
    "calibration_steps": conf.at_least(1),
    "delta_pairs": conf.at_least(1),
    "seeds": conf.between(1, 1000),
    "stability_threshold": conf.between(0, 1),
    "search_trials": conf.between(0, 10_000),
    "jobs": conf.between(1, 256),
}
