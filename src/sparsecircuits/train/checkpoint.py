"""Run folders: writing checkpoints, reading training state, and `load_run` for later stages."""

from __future__ import annotations

import hashlib
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from sparsecircuits import fileio
from sparsecircuits.errors import UserError
from sparsecircuits.train.config import RunConfig

if TYPE_CHECKING:
    from sparsecircuits.corpus.tokenizer import Tokenizer
    from sparsecircuits.model import SparseGPT

CONFIG_FILE = "config.toml"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
STATE_FILE = "train_state.pt"
METRICS_FILE = "metrics.jsonl"
RUN_FILES = (CONFIG_FILE, WEIGHTS_FILE, STATE_FILE, METRICS_FILE)


def holds_run(run_dir: str | Path) -> bool:
    """True if `run_dir` already holds (part of) a training run."""
    run_dir = Path(run_dir)
    return any((run_dir / name).exists() for name in RUN_FILES)


def is_finished(run_dir: str | Path, steps: int) -> bool:
    """True if `run_dir` holds weights and no training state short of `steps` (a shipped run has none)."""
    run_dir = Path(run_dir)
    if not (run_dir / WEIGHTS_FILE).is_file():
        return False
    return not (run_dir / STATE_FILE).is_file() or load_train_state(run_dir)["step"] >= steps


def state_dict_cpu(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's parameters and buffers as contiguous CPU tensors (safetensors-ready)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}


def save_weights(model: nn.Module, path: str | Path, step: int) -> None:
    """Write the model's weights atomically as safetensors, recording the step in the metadata."""
    from safetensors.torch import save_file

    with fileio.atomic_path(path) as tmp:
        save_file(state_dict_cpu(model), str(tmp), metadata={"format": "pt", "step": str(step)})


def save_checkpoint(
    run_dir: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: RunConfig,
    step: int,
    corpus_dir: Path,
    extra: tuple[str, nn.Module] | None = None,
) -> None:
    """Write config, tokenizer, weights and the resumable training state into `run_dir`.

    `extra` (file name, module): parameters trained beside the model (a TrainHook's, e.g.
    bridges), written as their own safetensors file and kept in the training state too.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    fileio.atomic_write_text(run_dir / CONFIG_FILE, config.to_toml())
    tok_src = corpus_dir / TOKENIZER_FILE
    if not (run_dir / TOKENIZER_FILE).exists():
        with fileio.atomic_path(run_dir / TOKENIZER_FILE) as tmp:
            shutil.copyfile(tok_src, tmp)
    weights = state_dict_cpu(model)
    save_weights(model, run_dir / WEIGHTS_FILE, step)
    if extra is not None:
        save_weights(extra[1], run_dir / extra[0], step)
    # The state carries its own copy of the weights so that it is consistent by itself even if
    # the process dies between the two writes; it is written last.
    state = {
        "step": step,
        "model": weights,
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    if extra is not None:
        state["extra"] = state_dict_cpu(extra[1])
    with fileio.atomic_path(run_dir / STATE_FILE) as tmp:
        torch.save(state, tmp)


def load_train_state(run_dir: Path) -> dict[str, Any]:
    """Read `train_state.pt` (tensors and plain containers only: weights_only=True)."""
    from sparsecircuits.tensorfile import load_torch_file

    path = run_dir / STATE_FILE
    if not path.is_file():
        raise UserError(f"{path} does not exist; start the run without --resume.")
    state = load_torch_file(
        path, "training state", "delete the run folder and start again", mmap=False
    )
    if not isinstance(state, dict) or "step" not in state:
        raise UserError(
            f"training state {path} is not one sparsecircuits wrote; delete the run folder and start again."
        )
    return state


def load_run_config(run_dir: Path) -> RunConfig:
    """The RunConfig saved in a run folder."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise UserError(
            f"{run_dir} has no {CONFIG_FILE}; pass a folder written by `sparsecircuits train`."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid TOML ({e}); restore it or retrain.") from e
    return RunConfig.from_dict(data, str(path))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Run:
    """A trained model loaded from a run folder (only read: a run folder may be read-only)."""

    model: SparseGPT
    tokenizer: Tokenizer
    config: RunConfig
    path: Path
    weights_sha256: str
    corpus_dir: Path | None


def load_weights(model: nn.Module, path: Path) -> None:
    """Load safetensors weights into `model` strictly; UserError naming any mismatch."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as e:
        raise UserError(
            f"{path} is not a readable safetensors file ({e}); retrain or restore it."
        ) from e
    model.load_weights(state, source=str(path))


def usable_device(name: str) -> torch.device:
    """`name` as a torch device this installation can run on; UserError naming the problem otherwise."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"--device {name!r} is not a torch device; use cpu or cuda.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"--device {name} needs a GPU, but this torch sees none (a CPU build or no driver); use --device cpu."
        )
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"--device {name!r} is not supported; use cpu or cuda.")
    return device


def load_run(run_dir: str | Path, device: str = "cpu") -> Run:
    """Load a run folder's model (eval mode), tokenizer and config."""
    from sparsecircuits.corpus import Tokenizer
    from sparsecircuits.model import SparseGPT, sparse_exec

    target = usable_device(device)
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(
            f"run folder {run_dir} does not exist; pass a folder written by `sparsecircuits train`."
        )
    weights = run_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise UserError(
            f"{run_dir} has no {WEIGHTS_FILE}; train the model first or pass another run folder."
        )
    config = load_run_config(run_dir)
    tok_path = run_dir / TOKENIZER_FILE
    if not tok_path.is_file():
        raise UserError(
            f"{run_dir} has no {TOKENIZER_FILE}; copy the corpus's tokenizer.json into it."
        )
    tokenizer = Tokenizer.load(tok_path)
    try:
        model = SparseGPT(config.model, seed=config.train.seed)
    except (ValueError, TypeError) as e:
        raise UserError(
            f"the [model] table of {run_dir / CONFIG_FILE} is invalid ({e}); fix it."
        ) from e
    load_weights(model, weights)
    model.to(target).eval()
    model.set_sparse_execution(sparse_exec.current_mode())  # a loaded run is a frozen model
    corpus = Path(config.train.corpus) if config.train.corpus else None
    return Run(
        model=model,
        tokenizer=tokenizer,
        config=config,
        path=run_dir,
        weights_sha256=file_sha256(weights),
        corpus_dir=corpus if corpus is not None and corpus.is_dir() else None,
    )
