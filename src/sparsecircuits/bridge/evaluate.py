"""`bridge eval`: per-location NMSE both ways, the KL of every hybrid pass, and the losses beside an unbridged twin."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from sparsecircuits import fileio
from sparsecircuits.bridge.model import BridgedRun, bridge_terms, kl_to_dense, load_bridged
from sparsecircuits.errors import UserError


@dataclass(frozen=True)
class LocationEval:
    """One bridged residual location, averaged over the val batches."""

    site: str
    nmse_encoder: float  # f_i(h_dense) vs h_sparse
    nmse_decoder: float  # g_i(h_sparse) vs h_dense
    kl_dense_to_sparse: float  # KL(dense || dense prefix -> f_i -> sparse suffix), nats/token
    kl_sparse_to_dense: float  # KL(dense || sparse prefix -> g_i -> dense suffix)


@dataclass(frozen=True)
class BridgeEval:
    """What `bridge eval` writes: per-location numbers and the models' own held-out losses."""

    run: str
    dense: str
    baseline: str | None
    tokens: int
    steps: int
    locations: list[LocationEval]
    sparse_loss: float  # the bridged sparse model's own next-token loss (val)
    baseline_loss: float | None  # the unbridged twin's, on the same tokens
    dense_loss: float
    kl_dense_to_sparse_model: float  # KL(dense || the sparse model alone): the hybrids' yardstick


@torch.no_grad()
def evaluate_bridges(
    bridged: BridgedRun, batches: int = 8, baseline_dir: str | Path | None = None
) -> BridgeEval:
    """Evaluate every location and hybrid pass on `batches` val batches (the trainer's own eval batches)."""
    from sparsecircuits.corpus import BatchSampler, TokenData
    from sparsecircuits.train import load_run
    from sparsecircuits.train.loop import EVAL_SEED_OFFSET

    sparse, dense, bridges = bridged.sparse.model, bridged.dense.model, bridged.bridges
    t = bridged.sparse.config.train
    corpus = bridged.sparse.corpus_dir
    if corpus is None:
        raise UserError(
            f"the corpus {t.corpus} of {bridged.sparse.path} is not here; build it or restore it first."
        )
    baseline = None
    if baseline_dir is not None:
        baseline = load_run(baseline_dir).model
        if baseline.config != sparse.config:
            raise UserError(
                f"the baseline {baseline_dir} has another model shape than {bridged.sparse.path}; "
                "pass its unbridged twin (same config)."
            )
    sampler = BatchSampler(
        TokenData(corpus, "val"), t.batch_size, t.seq_len, t.seed + EVAL_SEED_OFFSET, 0, 1
    )
    n = len(bridges.sites)
    sums = torch.zeros(n, 4, dtype=torch.float64)
    own = torch.zeros(4, dtype=torch.float64)  # sparse, baseline, dense losses; KL(dense||sparse)
    tokens = 0
    for b in range(batches):
        x, y = sampler.batch(b)
        terms = bridge_terms(sparse, dense, bridges, x, y, list(range(n)), list(range(n)))
        for i in range(n):
            sums[i, 0] += float(terms.nmse_encoder[i])
            sums[i, 1] += float(terms.nmse_decoder[i])
            sums[i, 2] += float(terms.kl_dense_to_sparse[i])
            sums[i, 3] += float(terms.kl_sparse_to_dense[i])
        d_logits = dense(x).float()
        own[0] += float(terms.lm)
        if baseline is not None:
            own[1] += float(F.cross_entropy(baseline(x).flatten(0, 1).float(), y.flatten()))
        own[2] += float(F.cross_entropy(d_logits.flatten(0, 1), y.flatten()))
        own[3] += float(kl_to_dense(F.log_softmax(d_logits, -1), sparse(x)))
        tokens += y.numel()
    sums /= batches
    own /= batches
    steps = int(bridged.sparse.config.train.steps)
    return BridgeEval(
        run=str(bridged.sparse.path),
        dense=str(bridged.dense.path),
        baseline=str(baseline_dir) if baseline_dir is not None else None,
        tokens=tokens,
        steps=steps,
        locations=[
            LocationEval(s, *(float(v) for v in sums[i])) for i, s in enumerate(bridges.sites)
        ],
        sparse_loss=float(own[0]),
        baseline_loss=float(own[1]) if baseline is not None else None,
        dense_loss=float(own[2]),
        kl_dense_to_sparse_model=float(own[3]),
    )


def run_eval(args: argparse.Namespace) -> BridgeEval:
    """The CLI handler: evaluate, print a table, write JSON with --out."""
    bridged = load_bridged(args.run, dense_dir=args.dense)
    result = evaluate_bridges(bridged, args.batches, args.baseline)
    print(f"{'location':>12}  {'NMSE enc':>9}  {'NMSE dec':>9}  {'KL d->s':>8}  {'KL s->d':>8}")
    for loc in result.locations:
        print(
            f"{loc.site:>12}  {loc.nmse_encoder:9.4f}  {loc.nmse_decoder:9.4f}  "
            f"{loc.kl_dense_to_sparse:8.4f}  {loc.kl_sparse_to_dense:8.4f}"
        )
    base = f", unbridged {result.baseline_loss:.4f}" if result.baseline_loss is not None else ""
    print(
        f"held-out loss: bridged sparse {result.sparse_loss:.4f}{base}, dense {result.dense_loss:.4f}; "
        f"KL(dense || sparse alone) {result.kl_dense_to_sparse_model:.4f} ({result.tokens} tokens)"
    )
    if args.out:
        fileio.atomic_write_json(args.out, asdict(result))
    return result
