"""`bridge steer`: push a sparse circuit node's activation change through a decoder into the dense model.

For each held-out pair (prompt A = the task's positive prompt, B = its negative), the node's
value at A's last token is set to its value at B's last token in the sparse model; the change
this makes to the sparse residual at the next bridged location (after the node's sublayer) is
mapped by that location's decoder (its linear part: a change, so no bias) into the dense
residual, rescaled, multiplied by each strength s and added to the dense model's residual at
A's last token. We report the dense model's probability of B's answer on A. The control adds a
random direction of the same norm instead (several seeds: mean and spread).

Rescaling (the paper's "bridge weights rescaled by the ratio of residual norms"): the decoders
are fitted by NMSE, a regression, which shrinks their outputs towards the mean, so the decoded
change is multiplied by RMS(dense residual) / RMS(decoded sparse residual) at that location
over the task prompts (`--no-rescale` turns it off; the factor is in the result).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from sparsecircuits import fileio
from sparsecircuits.bridge.model import BridgedRun, load_bridged
from sparsecircuits.errors import UserError


@dataclass(frozen=True)
class SteerCurve:
    """One steering curve: per strength, the dense model's mean probability of B's answer on A."""

    strengths: list[float]
    prob_other: list[float]  # full softmax, mean over prompts
    prob_other_two_way: list[float]  # softmax over {A's answer, B's answer}
    control_mean: list[float]  # the same (full softmax) with a random direction, mean over seeds
    control_std: list[float]  # spread over seeds
    control_two_way_mean: list[float]
    control_two_way_std: list[float]


@dataclass(frozen=True)
class SteerResult:
    """What `bridge steer` writes (JSON): the curve and what it is about."""

    run: str
    circuit: str
    task: str
    node: str
    location: str  # the residual site the change is pushed in at
    steer_from: str  # the class of prompt A
    steer_towards: str  # the class whose answer is measured
    n_pairs: int
    seed: int
    rescale: bool
    rescale_factor: float
    node_delta_mean: float  # mean of the node's value on B minus on A
    node_delta_abs_mean: float
    dense_delta_norm_mean: float  # mean L2 norm of the pushed change at strength 1
    dense_resid_norm_mean: float  # mean L2 norm of the dense residual there, for scale
    sparse_prob_other_base: float  # the sparse model's own P(B's answer | A)
    sparse_prob_other_patched: float  # ... with the node patched to its B value
    dense_prob_other_on_b: float  # the dense model's P(B's answer | B): a fully flipped prompt
    curve: SteerCurve
    controls: int


def next_location(site: str, n_layer: int, sites: list[str]) -> str:
    """The bridged residual site right after the sublayer of node site `site` ("{L}.attn.q" -> "{L}.resid_mid")."""
    layer, _, rest = site.partition(".")
    loc = f"{layer}.resid_mid" if rest.startswith("attn.") else f"{int(layer) + 1}.resid_pre"
    if loc not in sites:
        raise UserError(
            f"node site {site} writes into the final residual, which this run does not bridge "
            "(bridge.final_residual = false); pick a node of an earlier layer."
        )
    return loc


def _set_at(rows: Tensor, pos: Tensor, index: int, values: Tensor):
    def fn(x: Tensor) -> Tensor:
        x = x.clone()
        x[rows, pos, index] = values.to(x.dtype)
        return x

    return fn


def _add_at(rows: Tensor, pos: Tensor, delta: Tensor):
    def fn(x: Tensor) -> Tensor:
        x = x.clone()
        x[rows, pos] = x[rows, pos] + delta.to(x.dtype)
        return x

    return fn


def _rms(x: Tensor) -> Tensor:
    return x.float().pow(2).mean(-1).sqrt()


@torch.no_grad()
def steer(
    bridged: BridgedRun,
    circuit_path: str | Path,
    node: str,
    strengths: list[float],
    n: int = 256,
    controls: int = 8,
    seed: int = 0,
    rescale: bool = True,
) -> SteerResult:
    """The steering curve of `node` (a node of the circuit file) through the bridged run's decoder."""
    from sparsecircuits.core.circuit import read_circuit
    from sparsecircuits.core.data import prompt_length
    from sparsecircuits.core.nodes import check_node_ids, site_widths
    from sparsecircuits.core.run import check_weights, circuit_task
    from sparsecircuits.tasks.loss import TaskBatch

    circuit_path = Path(circuit_path)
    circuit = read_circuit(circuit_path)
    sparse, dense, bridges = bridged.sparse.model, bridged.dense.model, bridged.bridges
    check_weights(circuit, circuit_path, bridged.sparse)
    (nid,) = check_node_ids(site_widths(sparse), [node], "--node")
    if node not in circuit.node_ids:
        some = ", ".join(circuit.node_ids[:5])
        raise UserError(
            f"node {node} is not in the circuit {circuit_path}; pass one of its nodes (e.g. {some})."
        )
    task = circuit_task(circuit, circuit_path)
    tok = bridged.sparse.tokenizer
    pairs = task.pairs(tok, n, split="heldout", seed=seed, max_len=prompt_length(sparse))
    batch = TaskBatch.from_pairs(pairs, tok.eot_id).crop()
    a_rows = torch.arange(0, len(batch), 2)  # positive prompts (A)
    b_rows = a_rows + 1
    tokens_a, last_a = batch.tokens[a_rows], batch.last_pos[a_rows]
    target_a, other_a = batch.target[a_rows], batch.other[a_rows]  # other_a = B's answer
    rows = torch.arange(len(a_rows))
    site = nid.site_name
    loc = next_location(site, sparse.config.n_layer, bridges.sites)
    li = bridges.sites.index(loc)

    # the node on A and B, and the sparse residual at `loc` with the node patched to its B value
    s_logits_all, cache = sparse.run_with_cache(batch.tokens, sites=[site, loc])
    value = cache[site][:, :, nid.index][torch.arange(len(batch)), batch.last_pos]
    v_a, v_b = value[a_rows], value[b_rows]
    h_s = cache[loc][a_rows]
    with sparse.intervene({site: _set_at(rows, last_a, nid.index, v_b)}):
        s_logits_patched, patched = sparse.run_with_cache(tokens_a, sites=[loc])
    delta_s = patched[loc][rows, last_a] - h_s[rows, last_a]  # [N, d_sparse]

    # decoded change and the rescale factor (RMS of the dense residual / of the decoded one)
    _, dcache = dense.run_with_cache(tokens_a, sites=[loc])
    h_d_last = dcache[loc][rows, last_a]
    decoded = bridges.decode(li, h_s[rows, last_a])
    factor = float(_rms(h_d_last).mean() / _rms(decoded).mean().clamp_min(1e-12))
    if not rescale:
        factor = 1.0
    delta_d = factor * (delta_s @ bridges.decoders[li].weight.T.float())  # [N, d_dense]

    def probs(delta: Tensor, s: float) -> tuple[float, float]:
        with dense.intervene({loc: _add_at(rows, last_a, s * delta)}):
            logits = dense(tokens_a, last_pos=last_a).float()
        p = torch.softmax(logits, -1)[rows, other_a]
        two = torch.sigmoid(logits[rows, other_a] - logits[rows, target_a])
        return float(p.mean()), float(two.mean())

    gen = torch.Generator().manual_seed(seed + 104729)
    norms = delta_d.norm(dim=-1, keepdim=True)
    randoms = []
    for _ in range(controls):
        u = torch.randn(delta_d.shape, generator=gen)
        randoms.append(u / u.norm(dim=-1, keepdim=True).clamp_min(1e-12) * norms)
    curve_p, curve_two, c_mean, c_std, c2_mean, c2_std = [], [], [], [], [], []
    for s in strengths:
        p, two = probs(delta_d, s)
        curve_p.append(p)
        curve_two.append(two)
        cs = torch.tensor([probs(u, s) for u in randoms]) if randoms else torch.zeros(0, 2)
        c_mean.append(float(cs[:, 0].mean()) if controls else math.nan)
        c_std.append(float(cs[:, 0].std(unbiased=False)) if controls else math.nan)
        c2_mean.append(float(cs[:, 1].mean()) if controls else math.nan)
        c2_std.append(float(cs[:, 1].std(unbiased=False)) if controls else math.nan)

    sp_base = torch.softmax(s_logits_all[a_rows][rows, last_a].float(), -1)[rows, other_a]
    sp_patch = torch.softmax(s_logits_patched[rows, last_a].float(), -1)[rows, other_a]
    d_on_b = torch.softmax(dense(batch.tokens[b_rows], last_pos=batch.last_pos[b_rows]).float(), -1)
    return SteerResult(
        run=str(bridged.sparse.path),
        circuit=str(circuit_path),
        task=circuit.task.name,
        node=node,
        location=loc,
        steer_from=circuit.task.class_pos,
        steer_towards=circuit.task.class_neg,
        n_pairs=len(pairs),
        seed=seed,
        rescale=rescale,
        rescale_factor=factor,
        node_delta_mean=float((v_b - v_a).mean()),
        node_delta_abs_mean=float((v_b - v_a).abs().mean()),
        dense_delta_norm_mean=float(norms.mean()),
        dense_resid_norm_mean=float(h_d_last.norm(dim=-1).mean()),
        sparse_prob_other_base=float(sp_base.mean()),
        sparse_prob_other_patched=float(sp_patch.mean()),
        dense_prob_other_on_b=float(d_on_b[rows, batch.target[b_rows]].mean()),
        curve=SteerCurve(
            strengths=list(strengths),
            prob_other=curve_p,
            prob_other_two_way=curve_two,
            control_mean=c_mean,
            control_std=c_std,
            control_two_way_mean=c2_mean,
            control_two_way_std=c2_std,
        ),
        controls=controls,
    )


def plot_steer(result: SteerResult, path: Path) -> None:
    """The steering curve beside the random-direction control (mean +- spread over seeds)."""
    from sparsecircuits.sweep.plot import _pyplot

    plt = _pyplot()
    c = result.curve
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(c.strengths, c.prob_other, "o-", color="#1f77b4", label=f"node {result.node}")
    lo = [m - s for m, s in zip(c.control_mean, c.control_std, strict=True)]
    hi = [m + s for m, s in zip(c.control_mean, c.control_std, strict=True)]
    ax.plot(
        c.strengths, c.control_mean, "s--", color="#7f7f7f", label="random direction, same norm"
    )
    ax.fill_between(c.strengths, lo, hi, color="#7f7f7f", alpha=0.2)
    ax.axhline(
        result.dense_prob_other_on_b,
        color="#2ca02c",
        lw=0.8,
        ls=":",
        label="dense model on the other class's prompts",
    )
    ax.set_xlabel("steering strength s")
    ax.set_ylabel("dense model's P(other class's answer)")
    ax.set_title(
        f"{result.task}: steer {result.steer_from} -> towards {result.steer_towards}", fontsize=8
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    with fileio.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def parse_strengths(text: str) -> list[float]:
    """`"0,0.5,1"` -> [0.0, 0.5, 1.0]; UserError for anything that is not finite numbers."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise UserError(
            f"--strength {text!r} is not a comma-separated list of numbers; use e.g. 0,0.5,1."
        )
    return values


def run_steer(args: argparse.Namespace) -> SteerResult:
    """The CLI handler: steer, write JSON and PNG (beside the circuit unless --out), print the curve."""
    import sys

    from sparsecircuits import locks

    strengths = parse_strengths(args.strength)
    if not Path(args.circuit).is_file():
        raise UserError(
            f"circuit file {args.circuit} does not exist; prune one with `sparsecircuits prune`."
        )
    bridged = load_bridged(args.run, dense_dir=args.dense)
    result = steer(
        bridged,
        args.circuit,
        args.node,
        strengths,
        n=args.n,
        controls=args.controls,
        seed=args.seed,
        rescale=not args.no_rescale,
    )
    out = Path(args.out) if args.out else Path(args.circuit).parent / "steer"
    stem = f"{result.task}_{args.node.replace(':', '_')}"
    with locks.writing(out):
        out.mkdir(parents=True, exist_ok=True)
        fileio.atomic_write_json(out / f"{stem}.json", asdict(result))
        plot_steer(result, out / f"{stem}.png")
    c = result.curve
    print(
        f"{result.task}, node {result.node} -> {result.location}, {result.n_pairs} pairs, "
        f"rescale x{result.rescale_factor:.3g}",
        file=sys.stderr,
    )
    print("strength  P(other)  control (mean +- sd)")
    for i, s in enumerate(c.strengths):
        print(
            f"{s:8.3g}  {c.prob_other[i]:8.4f}  {c.control_mean[i]:.4f} +- {c.control_std[i]:.4f}"
        )
    print(f"wrote {out / (stem + '.json')} and .png", file=sys.stderr)
    return result
