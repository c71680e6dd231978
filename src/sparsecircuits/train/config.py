"""Training configuration: `TrainConfig`, `RunConfig`, TOML loading/saving and `--set` overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparsecircuits import config as conf
from sparsecircuits.errors import UserError
from sparsecircuits.model import ModelConfig


@dataclass
class TrainConfig:
    """Everything about how a model is trained (the model's shape is `ModelConfig`)."""

    corpus: str = "data/py"  # corpus folder (manifest.json, tokenizer.json, shards)
    steps: int = 1000  # optimizer updates
    batch_size: int = 32  # global batch, in sequences (split across processes)
    seq_len: int = 128  # tokens per sequence, <= model.block_size
    lr: float = 1e-2  # base learning rate
    warmup_frac: float = 0.01  # linear warmup over this fraction of steps
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1  # applied to matrices only (not norms, biases, sink logits)
    eps: float = 0.1  # AdamW epsilon (large on purpose, see METHOD.md)
    grad_rms_clip: float = 1.0  # scale the whole gradient so its RMS is at most this
    target_fraction: float = 1.0 / 8  # fraction of weights kept per sparse tensor; 1.0 = dense
    anneal_frac: float = 0.5  # fraction goes 1 -> target linearly over this fraction of steps
    min_row_nonzeros: int = 4  # every row of a sparse matrix keeps at least this many entries
    sparse_embeddings: bool = True  # token (and position) embeddings are sparsified
    sparse_unembedding: bool = True  # lm_head is sparsified
    sparse_biases: bool = True  # biases (and the final logits bias) are sparsified
    eval_every: int = 100  # evaluate on the val split every N steps (and at the end)
    eval_batches: int = 4  # batches (of batch_size sequences) per evaluation
    checkpoint_every: int = 500  # write a checkpoint every N steps (and at the end)
    log_every: int = 10  # write a metrics row every N steps
    seed: int = 0  # fixes init, data order and everything else
    max_minutes: float = 0.0  # stop with a checkpoint after this much wall time (0 = no limit)
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    autocast_bf16: bool = (
        True  # bf16 autocast on a GPU or a CPU with native bf16 (train/precision.py)
    )
    compile: bool = False  # torch.compile the model
    tokenizer_hash: str = ""  # filled in by the trainer: content hash of the corpus tokenizer
    precision: str = ""  # filled in by the trainer: "bf16" or "fp32", what the run computes in

    def validate(self, block_size: int | None = None) -> None:
        """Raise UserError if a value is out of range (the rules are `TRAIN_RULES`)."""
        conf.check_values(self, "train", TRAIN_RULES)
        if block_size is not None and self.seq_len > block_size:
            raise UserError(
                f"train.seq_len ({self.seq_len}) exceeds model.block_size ({block_size}); "
                "lower seq_len or raise block_size."
            )


TRAIN_RULES: conf.Rules = {
    "steps": conf.at_least(1),
    "batch_size": conf.at_least(1),
    "seq_len": conf.at_least(1),
    "lr": conf.positive(),
    "warmup_frac": conf.between(0, 1, closed_hi=False),
    "betas": conf.betas(),
    "weight_decay": conf.at_least(0),
    "eps": conf.positive(),
    "grad_rms_clip": conf.positive(),
    "target_fraction": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "anneal_frac": conf.between(0, 1),
    "min_row_nonzeros": conf.at_least(0),
    "eval_every": conf.at_least(1),
    "eval_batches": conf.at_least(1),
    "checkpoint_every": conf.at_least(1),
    "log_every": conf.at_least(1),
    "seed": conf.between(0, 2**63 - 1),
    "max_minutes": conf.at_least(0),
    "device": conf.one_of("auto", "cpu", "cuda"),
}


# Tables another stage adds to a run's config beside [model] and [train] ([bridge]: the dense
# model and coefficients of a bridged run, sparsecircuits.bridge). They are kept here as plain
# tables, so that every command opens such a run as an ordinary one; their stage checks them.
EXTENSION_TABLES = ("bridge",)


@dataclass
class RunConfig:
    """A run's full configuration: the model's shape and the training recipe."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # EXTENSION_TABLES present

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with `model` and `train` tables (None values left out; TOML has no null)."""
        return {
            "model": self.model.to_dict(),
            "train": conf.to_table(self.train),
            **{k: dict(v) for k, v in self.extra.items()},
        }

    def to_toml(self) -> str:
        """The config as TOML text."""
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        """Build from a dict with `model` and `train` tables; unknown keys raise UserError."""
        for key in data:
            if key not in ("model", "train", *EXTENSION_TABLES):
                raise UserError(
                    f"unknown table [{key}] in {source}; only [model] and [train] are allowed."
                )
            if key in EXTENSION_TABLES and not isinstance(data[key], dict):
                raise UserError(f"[{key}] in {source} must be a table.")
        model = conf.from_table(ModelConfig, data.get("model", {}), "model", source)
        train = conf.from_table(TrainConfig, data.get("train", {}), "train", source)
        extra = {k: dict(data[k]) for k in EXTENSION_TABLES if k in data}
        return cls(model=model, train=train, extra=extra)


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply `table.key=value` strings (typed by the dataclass field) and return a new config."""
    sets = conf.parse_sets(overrides, {"model": ModelConfig, "train": TrainConfig})
    data = config.to_dict()
    for table, values in sets.items():
        data[table].update(values)
    return RunConfig.from_dict(data, "--set overrides")


# What a resumed run may change: its length, bookkeeping and placement, not what it computes.
RESUMABLE = (
    "steps",
    "eval_every",
    "eval_batches",
    "checkpoint_every",
    "log_every",
    "device",
    "max_minutes",
)


def resume_config(saved: RunConfig, requested: RunConfig, saved_path: Path) -> RunConfig:
    """The config to resume a run with: its own (read from `saved_path`), taking from `requested`
    (the config file plus --set) only the RESUMABLE train fields; UserError naming any other
    difference."""
    was, now = saved.to_dict(), requested.to_dict()
    differences = []
    for table in ("model", "train", *sorted(set(saved.extra) | set(requested.extra))):
        for key in sorted(set(was.get(table, {})) | set(now.get(table, {}))):
            if table == "train" and key in (
                *RESUMABLE,
                "tokenizer_hash",
                "precision",
            ):  # the trainer's
                continue
            a, b = was.get(table, {}).get(key), now.get(table, {}).get(key)
            if table == "train" and key == "corpus":  # the run records the absolute path
                a, b = Path(a).expanduser().resolve(), Path(b).expanduser().resolve()
            if a != b:
                differences.append(f"{table}.{key} = {a!r}, not {b!r}")
    if differences:
        raise UserError(
            f"{saved_path.parent} was trained with {', '.join(differences)}; resume it with its "
            f"own config ({saved_path}) or train into a new --out."
        )
    resumed = {k: getattr(requested.train, k) for k in RESUMABLE}
    return RunConfig(
        model=saved.model, train=dataclasses.replace(saved.train, **resumed), extra=saved.extra
    )


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Load a TOML config with `[model]` and `[train]` tables and apply `--set` overrides."""
    config = RunConfig.from_dict(conf.read_toml(path), str(path))
    if overrides:
        config = apply_overrides(config, overrides)
    return config
