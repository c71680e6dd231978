"""`bridge train`: a sparse model trained from scratch beside a frozen dense one, through train/'s loop.

The loop is train/'s own (optimizer, sharkfin schedule, sparsity projection, checkpoints,
bit-exact resume, DDP, metrics, lock, progress); bridges enter through its one hook
(`TrainHook`): the bridges are its extra parameters and the bridged loss replaces the LM loss.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from sparsecircuits.bridge.config import (
    BRIDGE_TABLE,
    BRIDGES_FILE,
    BridgeConfig,
    bridge_config,
)
from sparsecircuits.bridge.model import (
    Bridges,
    bridge_losses,
    bridge_terms,
    check_pair,
    draw_locations,
    load_dense,
    locations,
)
from sparsecircuits.errors import UserError
from sparsecircuits.model import SparseGPT
from sparsecircuits.train.config import RunConfig


class BridgeHook:
    """The bridged loss as a train/ TrainHook: the bridges are its module, the dense model rides along frozen."""

    weights_file = BRIDGES_FILE

    def __init__(self, dense: SparseGPT, bridges: Bridges, config: BridgeConfig, seed: int) -> None:
        self.module: nn.Module = bridges
        self.dense, self.bridges, self.config, self.seed = dense, bridges, config, seed

    def loss(
        self, model: nn.Module, x: Tensor, y: Tensor, step: int
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The bridged loss of one step; hybrid locations drawn from (train.seed, step)."""
        if next(self.dense.parameters()).device != x.device:
            self.dense.to(x.device)
        n, k = len(self.bridges.sites), self.config.hybrid_locations
        terms = bridge_terms(
            model,  # type: ignore[arg-type]  # the SparseGPT being trained
            self.dense,
            self.bridges,
            x,
            y,
            draw_locations(n, k, self.seed, step, "d2s"),
            draw_locations(n, k, self.seed, step, "s2d"),
        )
        return bridge_losses(terms, self.config)


def prepare(config: RunConfig, dense_dir: str | Path | None) -> tuple[RunConfig, BridgeHook]:
    """Check the dense run against the config and build the hook; the returned config records the
    dense run (absolute path, weights hash) in its [bridge] table."""
    from sparsecircuits.corpus import Tokenizer
    from sparsecircuits.train.checkpoint import TOKENIZER_FILE
    from sparsecircuits.train.loop import build_model

    cfg = bridge_config(config, "the config")
    named = dense_dir if dense_dir is not None else cfg.dense
    if not named:
        raise UserError(
            "no dense model to bridge to; pass --dense RUN (e.g. src/sparsecircuits/bundled/zoo-dense-d32)."
        )
    dense = load_dense(named)
    check_pair(build_model(config), dense.model, Path(named))  # type: ignore[arg-type]
    corpus_tok = Path(config.train.corpus).expanduser() / TOKENIZER_FILE
    if corpus_tok.is_file():
        ours = Tokenizer.load(corpus_tok).content_hash()
        theirs = dense.tokenizer.content_hash()
        if ours != theirs:
            raise UserError(
                f"the dense run {named} uses another tokenizer ({theirs[:12]}) than corpus "
                f"{config.train.corpus} ({ours[:12]}); set train.corpus to the dense model's corpus."
            )
    cfg = dataclasses.replace(
        cfg, dense=str(Path(named).resolve()), dense_weights_sha256=dense.weights_sha256
    )
    extra = {**config.extra, BRIDGE_TABLE: _table(cfg)}
    config = dataclasses.replace(config, extra=extra)
    bridges = Bridges(
        dense.model.config.d_model,
        config.model.d_model,
        locations(config.model.n_layer, cfg.final_residual),
        cfg,
        seed=config.train.seed,
    )
    return config, BridgeHook(dense.model, bridges, cfg, config.train.seed)


def _table(cfg: BridgeConfig) -> dict[str, Any]:
    from sparsecircuits import config as conf

    return conf.to_table(cfg)


def train_bridged(
    config: RunConfig,
    dense_dir: str | Path | None,
    out_dir: str | Path,
    resume: bool = False,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train (or resume) a bridged run into `out_dir` with train/'s loop; returns the last metrics row."""
    from sparsecircuits.train.loop import train

    config, hook = prepare(config, dense_dir)
    return train(config, out_dir, resume=resume, stop_after=stop_after, hook=hook)
