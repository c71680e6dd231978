"""Import the authors' model folders into run folders, and export run folders to their format."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from sparsecircuits import __version__, fileio
from sparsecircuits.corpus.tokenizer import GPT2_ENCODER_FILE, GPT2_VOCAB_FILE, Tokenizer
from sparsecircuits.errors import UserError
from sparsecircuits.interop.openai_format import (
    CONFIG_FILE,
    TOKENIZER_ENV,
    TOKENIZER_URL,
    WEIGHTS_FILE,
    config_from_openai,
    config_to_openai,
    inspect_state,
    state_from_openai,
    state_to_openai,
)
from sparsecircuits.model import ModelConfig
from sparsecircuits.tensorfile import load_torch_file, write_safetensors
from sparsecircuits.train import checkpoint
from sparsecircuits.train.config import RunConfig, TrainConfig

Say = Callable[[str], None]
PROVENANCE_KEY = "provenance"  # safetensors metadata key of an imported run's origin


@dataclass(frozen=True)
class ImportedModel:
    """What `import_model` wrote: the run folder and the model's shape and size."""

    run_dir: Path
    config: ModelConfig
    parameters: int
    nonzero: int


def _tokenizer_dir(given: Path | None) -> Path:
    if given is None and os.environ.get(TOKENIZER_ENV):
        given = Path(os.environ[TOKENIZER_ENV])
    if given is None:
        raise UserError(
            "the authors ship the tokenizer apart from the model: download "
            f"{TOKENIZER_URL}/{GPT2_VOCAB_FILE} and {TOKENIZER_URL}/{GPT2_ENCODER_FILE} into one "
            f"folder and pass it as --tokenizer FOLDER (or set {TOKENIZER_ENV})."
        )
    files = [given / GPT2_VOCAB_FILE, given / GPT2_ENCODER_FILE]
    if not all(f.is_file() for f in files):
        raise UserError(
            f"--tokenizer {given} must be a folder holding {GPT2_VOCAB_FILE} and "
            f"{GPT2_ENCODER_FILE} (from {TOKENIZER_URL}/); download them into it."
        )
    return given


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not readable JSON ({e}); re-download it.") from None


def import_model(
    src: Path, out: Path, tokenizer_dir: Path | None = None, say: Say = print
) -> ImportedModel:
    """Convert the model folder `src` (beeg_config.json + final_model.pt) into the run folder `out`."""
    config_path, weights_path = src / CONFIG_FILE, src / WEIGHTS_FILE
    if not src.is_dir() or not config_path.is_file() or not weights_path.is_file():
        raise UserError(
            f"{src} is not one of the authors' model folders (it needs {CONFIG_FILE} and "
            f"{WEIGHTS_FILE}); pass the folder that holds both."
        )
    fileio.require_empty_dir(out)
    tok_dir = _tokenizer_dir(tokenizer_dir)
    tokenizer = Tokenizer.load_gpt2(tok_dir / GPT2_VOCAB_FILE, tok_dir / GPT2_ENCODER_FILE)
    raw = _read_json(config_path)
    state = load_torch_file(
        weights_path, "the checkpoint", "save the model's state_dict() with torch.save instead"
    )
    if not isinstance(raw, dict) or not isinstance(state, dict):
        raise UserError(
            f"{src} does not hold a JSON object of settings and a state dict; re-download the model."
        )
    has_positions, has_bias = inspect_state(state, raw.get("d_pos_emb"))
    imported = config_from_openai(raw, has_positions, has_bias, str(config_path))
    for w in imported.warnings:
        say(f"warning: {w}")
    cfg = imported.model
    tensors = state_from_openai(state, cfg, str(weights_path))
    if tokenizer.vocab_size > cfg.vocab_size:
        raise UserError(
            f"the tokenizer in {tok_dir} has {tokenizer.vocab_size} tokens but the model only "
            f"{cfg.vocab_size}; pass the tokenizer the model was trained with."
        )
    provenance = {
        "imported_from": "openai/circuit_sparsity format",
        "source": str(src.resolve()),
        "config_sha256": checkpoint.file_sha256(config_path),
        "weights_sha256": checkpoint.file_sha256(weights_path),
        "tokenizer": str(tok_dir.resolve()),
        "beeg_config": raw,
        "ignored_keys": imported.ignored,
        "sparsecircuits": __version__,
    }
    run_config = RunConfig(
        model=cfg, train=TrainConfig(corpus="", tokenizer_hash=tokenizer.content_hash())
    )
    with fileio.staging_dir(out) as tmp:
        fileio.atomic_write_text(tmp / checkpoint.CONFIG_FILE, run_config.to_toml())
        tokenizer.save(tmp / checkpoint.TOKENIZER_FILE)
        metadata = {"format": "pt", "step": "0", PROVENANCE_KEY: json.dumps(provenance)}
        write_safetensors(tmp / checkpoint.WEIGHTS_FILE, tensors, metadata)
    matrices = [t for k, t in tensors.items() if t.dim() == 2 and k != "bigram_table"]
    return ImportedModel(
        run_dir=out,
        config=cfg,
        parameters=sum(t.numel() for t in tensors.values()),
        nonzero=sum(int(torch.count_nonzero(t)) for t in matrices),
    )


def run_provenance(run_dir: Path) -> dict[str, object] | None:
    """Where an imported run came from (None for a run sparsecircuits trained)."""
    from safetensors import safe_open

    with safe_open(str(run_dir / checkpoint.WEIGHTS_FILE), framework="pt") as f:
        text = (f.metadata() or {}).get(PROVENANCE_KEY)
    return json.loads(text) if text else None


def export_model(run_dir: Path, out: Path) -> Path:
    """Write the run's model as beeg_config.json + final_model.pt (+ its tokenizer as vocab.bpe and encoder.json)."""
    from sparsecircuits.train import load_run

    fileio.require_empty_dir(out)
    run = load_run(run_dir)
    beeg = config_to_openai(run.model.config)
    state = state_to_openai(run.model)
    with fileio.staging_dir(out) as tmp:
        fileio.atomic_write_json(tmp / CONFIG_FILE, beeg)
        with fileio.atomic_path(tmp / WEIGHTS_FILE) as path:
            torch.save(state, path)
        run.tokenizer.save_gpt2(tmp)
    return out
