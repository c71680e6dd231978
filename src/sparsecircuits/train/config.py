"""Training configuration: `TrainConfig`, `RunConfig`, TOML loading/saving and `--set` overrides."""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    autocast_bf16: bool = True  # bf16 autocast on GPU (ignored on CPU)
    compile: bool = False  # torch.compile the model
    tokenizer_hash: str = ""  # filled in by the trainer: content hash of the corpus tokenizer

    def validate(self, block_size: int | None = None) -> None:
        """Raise UserError if a value is out of range."""
        checks = [
            (self.steps >= 1, "train.steps must be at least 1"),
            (self.batch_size >= 1, "train.batch_size must be at least 1"),
            (self.seq_len >= 1, "train.seq_len must be at least 1"),
            (self.lr > 0, "train.lr must be positive"),
            (0 <= self.warmup_frac < 1, "train.warmup_frac must be in [0, 1)"),
            (0 < self.target_fraction <= 1, "train.target_fraction must be in (0, 1]"),
            (0 <= self.anneal_frac <= 1, "train.anneal_frac must be in [0, 1]"),
            (self.min_row_nonzeros >= 0, "train.min_row_nonzeros must be >= 0"),
            (self.grad_rms_clip > 0, "train.grad_rms_clip must be positive"),
            (self.eval_every >= 1, "train.eval_every must be at least 1"),
            (self.eval_batches >= 1, "train.eval_batches must be at least 1"),
            (self.checkpoint_every >= 1, "train.checkpoint_every must be at least 1"),
            (self.log_every >= 1, "train.log_every must be at least 1"),
            (self.device in ("auto", "cpu", "cuda"), "train.device must be auto, cpu or cuda"),
            (len(self.betas) == 2, "train.betas must be a pair like [0.9, 0.95]"),
        ]
        for ok, msg in checks:
            if not ok:
                raise UserError(f"{msg}; fix the config or its --set override.")
        if block_size is not None and self.seq_len > block_size:
            raise UserError(
                f"train.seq_len ({self.seq_len}) exceeds model.block_size ({block_size}); "
                "lower seq_len or raise block_size."
            )


@dataclass
class RunConfig:
    """A run's full configuration: the model's shape and the training recipe."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with `model` and `train` tables (None values left out; TOML has no null)."""
        return {"model": self.model.to_dict(), "train": _dataclass_to_dict(self.train)}

    def to_toml(self) -> str:
        """The config as TOML text."""
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        """Build from a dict with `model` and `train` tables; unknown keys raise UserError."""
        for key in data:
            if key not in ("model", "train"):
                raise UserError(
                    f"unknown table [{key}] in {source}; only [model] and [train] are allowed."
                )
        model = _dataclass_from_dict(ModelConfig, data.get("model", {}), "model", source)
        train = _dataclass_from_dict(TrainConfig, data.get("train", {}), "train", source)
        return cls(model=model, train=train)


def _dataclass_to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    """Convert `value` (from TOML or a --set string) to the annotated type `tp`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        is_none = value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        if is_none and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, source)
            except UserError as e:
                errors.append(e)
        raise errors[0] if errors else UserError(f"bad value for {key} in {source}.")
    if origin is tuple or tp is tuple:
        if isinstance(value, str):
            value = [v for v in value.strip("()[] ").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise UserError(f"{key} in {source} must be a list like [0.9, 0.95].")
        inner = args[0] if args else Any
        return tuple(_coerce(v, inner, key, source) for v in value)
    if origin is list or tp is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.strip("[] ").split(",") if v.strip()]
        inner = args[0] if args else Any
        return [_coerce(v, inner, key, source) for v in value]
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise UserError(f"{key} in {source} must be true or false, not {value!r}.")
    if tp is int:
        if isinstance(value, bool):
            raise UserError(f"{key} in {source} must be an integer, not {value!r}.")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise UserError(f"{key} in {source} must be an integer, not {value!r}.")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return _parse_float(value)
            except ValueError:
                pass
        raise UserError(f"{key} in {source} must be a number, not {value!r}.")
    if tp is str:
        if isinstance(value, str):
            return value
        raise UserError(f"{key} in {source} must be a string, not {value!r}.")
    return value


def _parse_float(text: str) -> float:
    """A float, also written as a fraction like `1/8`."""
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _unknown_key(cls: type, table: str, key: str, source: str) -> UserError:
    """The error for a key `cls` does not have, naming the nearest valid one."""
    names = sorted(f.name for f in dataclasses.fields(cls))
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {table}.{close[0]}?" if close else f"valid keys: {', '.join(names)}."
    return UserError(f"unknown key {table}.{key} in {source}; {hint}")


def _dataclass_from_dict(cls: type, data: dict[str, Any], table: str, source: str) -> Any:
    if not isinstance(data, dict):
        raise UserError(f"[{table}] in {source} must be a table.")
    hints = _field_types(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise _unknown_key(cls, table, key, source)
        kwargs[key] = _coerce(value, hints[key], f"{table}.{key}", source)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise UserError(f"invalid [{table}] in {source}: {e}; fix the value.") from e


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply `table.key=value` strings (typed by the dataclass field) and return a new config."""
    data = config.to_dict()
    for item in overrides:
        if "=" not in item:
            raise UserError(
                f"--set {item!r} is not of the form table.key=value, e.g. train.lr=0.01."
            )
        dotted, value = item.split("=", 1)
        parts = dotted.strip().split(".")
        if len(parts) != 2 or parts[0] not in data:
            raise UserError(
                f"--set {item!r}: the key must be model.NAME or train.NAME, e.g. train.lr=0.01."
            )
        table, key = parts
        cls = ModelConfig if table == "model" else TrainConfig
        if key not in {f.name for f in dataclasses.fields(cls)}:
            raise _unknown_key(cls, table, key, "--set")
        data[table][key] = _coerce(value.strip(), _field_types(cls)[key], dotted, "--set")
    return RunConfig.from_dict(data, "--set overrides")


# What a resumed run may change: its length, bookkeeping and placement, not what it computes.
RESUMABLE = ("steps", "eval_every", "eval_batches", "checkpoint_every", "log_every", "device")


def resume_config(saved: RunConfig, requested: RunConfig, saved_path: Path) -> RunConfig:
    """The config to resume a run with: its own (read from `saved_path`), taking from `requested`
    (the config file plus --set) only the RESUMABLE train fields; UserError naming any other
    difference."""
    was, now = saved.to_dict(), requested.to_dict()
    differences = []
    for table in ("model", "train"):
        for key in sorted(set(was[table]) | set(now[table])):
            if table == "train" and key in (*RESUMABLE, "tokenizer_hash"):  # the trainer's
                continue
            a, b = was[table].get(key), now[table].get(key)
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
    return RunConfig(model=saved.model, train=dataclasses.replace(saved.train, **resumed))


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Load a TOML config with `[model]` and `[train]` tables and apply `--set` overrides."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"config file {path} does not exist; pass a TOML file such as configs/tiny-sparse.toml."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"config file {path} is not valid TOML ({e}); fix its syntax.") from e
    config = RunConfig.from_dict(data, str(path))
    if overrides:
        config = apply_overrides(config, overrides)
    return config
