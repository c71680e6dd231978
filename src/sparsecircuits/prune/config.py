"""PruneConfig: every hyperparameter of circuit extraction, with METHOD defaults or ours."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparsecircuits.core import ABLATIONS
from sparsecircuits.errors import UserError
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
    delta_pairs: int = 16  # held-out pairs for per-node ablation deltas (ours: keeps them cheap)
    # Hyperparameter search (0 = off).
    search_trials: int = 0
    jobs: int = 2

    def __post_init__(self) -> None:
        if self.ablation not in ABLATIONS:
            raise UserError(
                f"unknown ablation {self.ablation!r}; use one of {', '.join(ABLATIONS)}"
            )
        if not self.target_loss > 0:
            raise UserError(
                f"target loss must be positive, got {self.target_loss}; pass e.g. --target-loss 0.15"
            )
        for name in (
            "steps",
            "batch_size",
            "n_train",
            "n_heldout",
            "max_len",
            "mean_tokens",
            "eval_batch_size",
        ):
            if getattr(self, name) < 1:
                raise UserError(
                    f"prune setting {name} must be at least 1, got {getattr(self, name)}"
                )

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
    def from_dict(cls, d: dict[str, Any]) -> PruneConfig:
        """Build from a dict, naming any unknown key."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserError(
                f"unknown prune setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return cls(**d)

    def with_overrides(self, items: list[str]) -> PruneConfig:
        """Apply `KEY=VALUE` overrides (values parsed as the field's type)."""
        types = {f.name: type(getattr(self, f.name)) for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip().removeprefix("prune.")
            if not sep or key not in types:
                raise UserError(
                    f"bad override {item!r}; use KEY=VALUE with KEY one of {', '.join(sorted(types))}"
                )
            t = types[key]
            try:
                if t is bool:
                    if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                        raise ValueError(value)
                    changes[key] = value.lower() in ("true", "1", "yes")
                else:
                    changes[key] = t(value)
            except ValueError:
                raise UserError(
                    f"bad value in override {item!r}; {key} takes a {t.__name__}"
                ) from None
        return self.replace(**changes)

    @classmethod
    def from_toml(cls, path: str | Path) -> PruneConfig:
        """Read a TOML file holding the fields at top level or in a `[prune]` table."""
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(
                f"prune config {path} does not exist; pass an existing TOML file"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"prune config {path} is not valid TOML ({e}); fix the file") from None
        return cls.from_dict(data.get("prune", data))
