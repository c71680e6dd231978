"""The bridges (an encoder f_i and a decoder g_i per residual location), the bridged loss, and loading a bridged run."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from sparsecircuits.bridge.config import BRIDGES_FILE, BridgeConfig, bridge_config
from sparsecircuits.errors import UserError
from sparsecircuits.model import SparseGPT, abs_topk

if TYPE_CHECKING:
    from sparsecircuits.train.checkpoint import Run


def locations(n_layer: int, final_residual: bool = True) -> list[str]:
    """The bridged residual sites in forward order: before each attention and each MLP block
    ("{L}.resid_pre", "{L}.resid_mid"), then the final residual ("{n_layer}.resid_pre")."""
    sites = [f"{i}.{s}" for i in range(n_layer) for s in ("resid_pre", "resid_mid")]
    return [*sites, f"{n_layer}.resid_pre"] if final_residual else sites


class Bridges(nn.Module):
    """Per location i: encoder f_i = AbsTopK(W x + b) (dense -> sparse) and decoder g_i = W x + b (sparse -> dense)."""

    def __init__(
        self, d_dense: int, d_sparse: int, sites: list[str], config: BridgeConfig, seed: int = 0
    ) -> None:
        super().__init__()
        self.sites = list(sites)
        self.k = (
            math.ceil(config.encoder_afrac * d_sparse) if config.encoder_afrac > 0 else d_sparse
        )
        self.encoders = nn.ModuleList(nn.Linear(d_dense, d_sparse, bias=config.bias) for _ in sites)
        self.decoders = nn.ModuleList(nn.Linear(d_sparse, d_dense, bias=config.bias) for _ in sites)
        # Own generator: the init depends on the seed alone, never on the global RNG's history.
        gen = torch.Generator().manual_seed(seed + 7919)
        with torch.no_grad():
            for gain, lins in (
                (config.encoder_init_gain, self.encoders),
                (config.decoder_init_gain, self.decoders),
            ):
                for lin in lins:
                    lin.weight.normal_(0.0, gain / math.sqrt(lin.in_features), generator=gen)
                    if lin.bias is not None:
                        lin.bias.zero_()

    def encode(self, i: int, h_dense: Tensor) -> Tensor:
        """f_i: the dense residual at location i mapped into the sparse model's residual."""
        return abs_topk(self.encoders[i](h_dense), self.k)

    def decode(self, i: int, h_sparse: Tensor) -> Tensor:
        """g_i: the sparse residual at location i mapped into the dense model's residual."""
        return self.decoders[i](h_sparse)

    def set_identity(self) -> None:
        """Identity encoders and decoders with zero biases (equal widths only; for tests)."""
        with torch.no_grad():
            for lin in [*self.encoders, *self.decoders]:
                lin.weight.copy_(torch.eye(lin.out_features, lin.in_features))
                if lin.bias is not None:
                    lin.bias.zero_()


def nmse(pred: Tensor, target: Tensor) -> Tensor:
    """||pred - target||^2 / ||target - mean(target)||^2, over all tokens (1 = predicting the mean).

    The normaliser is a constant of the batch (detached), so neither model can lower the loss by
    inflating the variance of its own residual. Under DDP it is the whole global batch's variance
    (three sums all-reduced), so that N processes compute what one process would.
    """
    err = (pred.float() - target.float()).pow(2).sum(-1).mean()
    flat = target.detach().float().flatten(0, -2)
    stats = torch.cat([flat.sum(0), flat.pow(2).sum().view(1), flat.new_tensor([flat.shape[0]])])
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(stats)
    n = stats[-1]
    mean = stats[:-2] / n
    var = (stats[-2] / n - mean.pow(2).sum()).clamp_min(1e-12)
    return err / var


def kl_to_dense(dense_logp: Tensor, logits: Tensor) -> Tensor:
    """KL(dense || hybrid) per token, averaged over tokens (nats)."""
    logq = F.log_softmax(logits.float(), dim=-1)
    return (dense_logp.exp() * (dense_logp - logq)).sum(-1).mean()


def draw_locations(n: int, k: int, seed: int, step: int, direction: str) -> list[int]:
    """k distinct location indices (all when k is 0 or >= n), a pure function of (seed, step, direction)."""
    if k == 0 or k >= n:
        return list(range(n))
    return sorted(random.Random(f"{seed}:{step}:{direction}").sample(range(n), k))


@dataclass(frozen=True)
class BridgeTerms:
    """The terms of one bridged loss evaluation (tensors; differentiable when computed with grad)."""

    lm: Tensor
    nmse_encoder: list[Tensor]  # per location, in `Bridges.sites` order
    nmse_decoder: list[Tensor]
    kl_dense_to_sparse: dict[int, Tensor]  # location index -> KL of that hybrid pass
    kl_sparse_to_dense: dict[int, Tensor]


def bridge_terms(
    sparse: SparseGPT,
    dense: SparseGPT,
    bridges: Bridges,
    x: Tensor,
    y: Tensor,
    d2s: list[int],
    s2d: list[int],
) -> BridgeTerms:
    """Every loss term on batch (x, y): NMSE at every location, hybrid KLs at the locations d2s and s2d."""
    sites = bridges.sites
    with torch.no_grad():
        dense_logits, h_dense = dense.run_with_cache(x, sites=sites)
        dense_logp = F.log_softmax(dense_logits.float(), dim=-1)
    sparse_logits, h_sparse = sparse.run_with_cache(x, sites=sites)
    lm = F.cross_entropy(sparse_logits.reshape(-1, sparse_logits.shape[-1]).float(), y.reshape(-1))
    enc = [bridges.encode(i, h_dense[s]) for i, s in enumerate(sites)]
    return BridgeTerms(
        lm=lm,
        nmse_encoder=[nmse(enc[i], h_sparse[s]) for i, s in enumerate(sites)],
        nmse_decoder=[
            nmse(bridges.decode(i, h_sparse[s]), h_dense[s]) for i, s in enumerate(sites)
        ],
        kl_dense_to_sparse={
            i: kl_to_dense(dense_logp, sparse.forward_from(sites[i], enc[i], x)) for i in d2s
        },
        kl_sparse_to_dense={
            i: kl_to_dense(
                dense_logp, dense.forward_from(sites[i], bridges.decode(i, h_sparse[sites[i]]), x)
            )
            for i in s2d
        },
    )


def bridge_losses(terms: BridgeTerms, config: BridgeConfig) -> tuple[Tensor, dict[str, Tensor]]:
    """METHOD section 8's weighted sum of the terms, and the named (unweighted) terms.

    Every term is computed and weighted even at coefficient 0, so that every bridge parameter
    gets a gradient each step (DDP needs no search for unused parameters).
    """
    named = {
        "lm": terms.lm,
        "nmse_encoder": torch.stack(terms.nmse_encoder).mean(),
        "nmse_decoder": torch.stack(terms.nmse_decoder).mean(),
        "kl_dense_to_sparse": torch.stack(list(terms.kl_dense_to_sparse.values())).mean(),
        "kl_sparse_to_dense": torch.stack(list(terms.kl_sparse_to_dense.values())).mean(),
    }
    total = (
        config.lm_coef * named["lm"]
        + config.nmse_encoder_coef * named["nmse_encoder"]
        + config.nmse_decoder_coef * named["nmse_decoder"]
        + config.kl_dense_to_sparse_coef * named["kl_dense_to_sparse"]
        + config.kl_sparse_to_dense_coef * named["kl_sparse_to_dense"]
    )
    return total, named


def check_pair(sparse: SparseGPT, dense: SparseGPT, dense_dir: Path) -> None:
    """Refuse a dense model that cannot be bridged to this sparse one (n_layer, vocabulary)."""
    s, d = sparse.config, dense.config
    if s.n_layer != d.n_layer:
        raise UserError(
            f"the dense run {dense_dir} has {d.n_layer} layers but the sparse model has {s.n_layer}; "
            f"bridges need equal depths, so set model.n_layer={d.n_layer}."
        )
    if s.vocab_size != d.vocab_size:
        raise UserError(
            f"the dense run {dense_dir} has vocab_size {d.vocab_size} but the sparse model has "
            f"{s.vocab_size}; set model.vocab_size={d.vocab_size}."
        )


@dataclass(frozen=True)
class BridgedRun:
    """A bridged run folder loaded: the sparse run, its dense partner, the bridges and their config."""

    sparse: Run
    dense: Run
    bridges: Bridges
    config: BridgeConfig


def load_dense(dense_dir: str | Path, device: str = "cpu") -> Run:
    """The frozen dense partner run (eval mode, no gradients); UserError if it is not a run folder."""
    from sparsecircuits.train import load_run
    from sparsecircuits.train.checkpoint import WEIGHTS_FILE

    p = Path(dense_dir)
    if not (p / WEIGHTS_FILE).is_file():
        raise UserError(
            f"dense run {p} is not a run folder (no {WEIGHTS_FILE}); pass --dense with a trained "
            "model, e.g. src/sparsecircuits/bundled/zoo-dense-d32."
        )
    run = load_run(p, device=device)
    run.model.requires_grad_(False)
    return run


def dense_dir_of(run_dir: Path, named: str, override: str | Path | None = None) -> Path:
    """The dense run of a bridged run: `override` (`--dense`), else the recorded path, else the
    folder of that name beside the run (a moved or shipped pair; the weights hash decides)."""
    from sparsecircuits.train.checkpoint import WEIGHTS_FILE

    if override is not None:
        return Path(override)
    for p in (Path(named), run_dir / named, run_dir.parent / Path(named).name):
        if (p / WEIGHTS_FILE).is_file():
            return p
    return Path(named)


def load_bridged(
    run_dir: str | Path, device: str = "cpu", dense_dir: str | Path | None = None
) -> BridgedRun:
    """Open a folder written by `bridge train`; UserError if it is not one or its dense run changed."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from sparsecircuits.train import load_run

    sparse = load_run(run_dir, device=device)
    path = Path(run_dir) / BRIDGES_FILE
    if not path.is_file():
        raise UserError(
            f"{run_dir} has no {BRIDGES_FILE}; pass a run written by `sparsecircuits bridge train`."
        )
    cfg = bridge_config(sparse.config, str(Path(run_dir) / "config.toml"))
    dense = load_dense(dense_dir_of(Path(run_dir), cfg.dense, dense_dir), device=device)
    if cfg.dense_weights_sha256 and dense.weights_sha256 != cfg.dense_weights_sha256:
        raise UserError(
            f"the dense run {cfg.dense} holds other weights than {run_dir} was trained with "
            f"({dense.weights_sha256[:12]}, not {cfg.dense_weights_sha256[:12]}); restore that run."
        )
    check_pair(sparse.model, dense.model, Path(cfg.dense))
    bridges = Bridges(
        dense.model.config.d_model,
        sparse.model.config.d_model,
        locations(sparse.model.config.n_layer, cfg.final_residual),
        cfg,
    )
    try:
        bridges.load_state_dict(load_file(str(path), device="cpu"), strict=True)
    except (SafetensorError, OSError, RuntimeError) as e:
        raise UserError(
            f"{path} does not match the run's [bridge] config ({e}); retrain it."
        ) from e
    bridges.to(device).eval().requires_grad_(False)
    return BridgedRun(sparse=sparse, dense=dense, bridges=bridges, config=cfg)
