"""Top- and bottom-activating held-out corpus snippets per node, cached in the user cache."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from sparsecircuits.core.nodes import parse_node_id
from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_path, user_cache_dir
from sparsecircuits.report.activations import group_by_site, node_activations
from sparsecircuits.report.payload import round_sig

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.train.checkpoint import Run

CACHE_DIR = "snippets"  # under the user cache, never inside a run folder


@dataclass(frozen=True)
class SnippetConfig:
    """How snippets are sampled: windows of the held-out split, how many kept, how much context."""

    n_windows: int = 512  # random windows of the "val" split scanned per model
    window_len: int = 64  # tokens per window (the model sees only the window)
    k: int = 5  # snippets kept per node and direction
    context_before: int = 20  # tokens shown before the most-activating token
    context_after: int = 4  # tokens shown after it
    seed: int = 0
    batch_size: int = 16
    split: str = "val"

    def key(self, n_tokens: int) -> str:
        """Short hash of everything that changes the scan's result (display context excluded)."""
        fields = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("context_before", "context_after", "batch_size")
        }
        fields["n_tokens"] = n_tokens
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def window_starts(n_tokens: int, cfg: SnippetConfig) -> tuple[np.ndarray, int]:
    """Deterministic window starts in the split and the window length actually used."""
    length = min(cfg.window_len, n_tokens)
    rng = np.random.default_rng(cfg.seed)
    n = min(cfg.n_windows, max(1, n_tokens - length + 1))
    return rng.integers(0, n_tokens - length + 1, size=n), length


def _merge(
    best: tuple[Tensor, Tensor, Tensor] | None, vals: Tensor, wins: Tensor, poss: Tensor, k: int
):
    """Keep the k largest (value, window, position) rows per channel; rows are [n, W]."""
    if best is not None:
        vals = torch.cat([best[0], vals])
        wins = torch.cat([best[1], wins])
        poss = torch.cat([best[2], poss])
    top = torch.topk(vals, min(k, vals.shape[0]), dim=0)
    return top.values, wins.gather(0, top.indices), poss.gather(0, top.indices)


@torch.no_grad()
def scan_sites(
    model: SparseGPT, windows: Tensor, sites: Sequence[str], cfg: SnippetConfig
) -> dict[str, Tensor]:
    """Per site and channel, the k windows with the highest and lowest peak activation.

    Returns `{"{site}/{top|bottom}_{val|win|pos}": Tensor[k, W]}`; one entry per window, at
    the position of its peak, so a snippet list never repeats a window.
    """
    device = next(model.parameters()).device
    best: dict[tuple[str, str], Any] = {}
    n = windows.shape[0]
    bar = tqdm(total=n, desc="node snippets", unit="window", leave=False)
    for lo in range(0, n, cfg.batch_size):
        chunk = windows[lo : lo + cfg.batch_size]
        _, cache = model.run_with_cache(chunk.to(device), sites=list(sites))
        win_ids = torch.arange(lo, lo + len(chunk))
        for site in sites:
            x = cache[site].float().cpu()  # [b, T, W]
            for kind, signed in (("top", x), ("bottom", -x)):
                peak, pos = signed.max(dim=1)  # [b, W]
                wins = win_ids[:, None].expand_as(pos)
                best[(site, kind)] = _merge(best.get((site, kind)), peak, wins, pos, cfg.k)
        bar.update(len(chunk))
    bar.close()
    out: dict[str, Tensor] = {}
    for (site, kind), (vals, wins, poss) in best.items():
        out[f"{site}/{kind}_val"] = (vals if kind == "top" else -vals).contiguous()
        out[f"{site}/{kind}_win"] = wins.contiguous()
        out[f"{site}/{kind}_pos"] = poss.contiguous()
    return out


def _load_cache(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        return {}
    try:
        return load_file(str(path))
    except (SafetensorError, OSError):
        return {}  # a damaged cache is only a cache: recompute it


def _save_cache(path: Path, tensors: dict[str, Tensor]) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))


def cache_path(run: Run, corpus_dir: Path, n_tokens: int, cfg: SnippetConfig) -> Path:
    """Where the scan for this run's weights, this corpus, its split's size and this config is cached."""
    from sparsecircuits.core.stats import corpus_sha256

    corpus = corpus_sha256(corpus_dir)[:8]
    return (
        user_cache_dir()
        / CACHE_DIR
        / f"snippets-{run.weights_sha256[:16]}-{corpus}-{cfg.key(n_tokens)}.safetensors"
    )


def corpus_snippets(
    run: Run,
    node_ids: Sequence[str],
    cfg: SnippetConfig = SnippetConfig(),
    use_cache: bool = True,
    corpus_dir: Path | None = None,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """`{node_id: {"top": [snippet], "bottom": [snippet]}}` from the held-out split of the run's
    corpus (or `corpus_dir`).

    A snippet is `{"tokens": [str], "acts": [float], "focus": i, "value": float}`: the text
    around the window position where the node peaks, with the node's activation per token.
    "top" holds positive peaks only and "bottom" negative ones, so either may be short.
    The scan over the corpus is cached in the user cache, keyed by the weights' hash.
    """
    from sparsecircuits.corpus.data import TokenData

    if not node_ids:
        return {}
    cdir = Path(corpus_dir) if corpus_dir is not None else run.corpus_dir
    if cdir is None:
        raise UserError(
            f"the corpus of run {run.path} was not found, so node snippets cannot be computed; "
            "pass --corpus DIR, restore the corpus folder named in its config.toml, or pass --no-snippets"
        )
    from sparsecircuits.core.stats import check_same_tokenizer

    check_same_tokenizer(run, cdir)  # another tokenizer's ids would be other text
    data = TokenData(cdir, cfg.split)
    if data.n_tokens < 2:
        raise UserError(
            f"the {cfg.split!r} split of {cdir} is empty; rebuild the corpus with a held-out split"
        )
    starts, length = window_starts(data.n_tokens, cfg)
    windows = torch.from_numpy(np.stack([data.tokens(int(s), int(s) + length) for s in starts]))
    sites = list(group_by_site(node_ids))
    path = cache_path(run, cdir, data.n_tokens, cfg)
    cached = _load_cache(path) if use_cache else {}
    missing = [s for s in sites if f"{s}/top_val" not in cached]
    if missing:
        cached.update(scan_sites(run.model, windows, missing, cfg))
        if use_cache:
            try:
                _save_cache(path, cached)
            except OSError as e:  # an unwritable cache: the report still works, uncached
                print(
                    f"warning: cannot write the snippet cache {path} ({e.strerror})",
                    file=sys.stderr,
                )

    # Re-run only the chosen windows to get each node's activation on every token shown.
    needed: dict[str, list[tuple[str, int, int, float]]] = {}
    chosen: set[int] = set()
    for node_id in node_ids:
        nid = parse_node_id(node_id)
        site, index = nid.site_name, nid.index
        rows = []
        for kind in ("top", "bottom"):
            vals = cached[f"{site}/{kind}_val"][:, index]
            wins = cached[f"{site}/{kind}_win"][:, index]
            poss = cached[f"{site}/{kind}_pos"][:, index]
            for v, w, p in zip(vals.tolist(), wins.tolist(), poss.tolist(), strict=True):
                if (kind == "top" and v > 0) or (kind == "bottom" and v < 0):
                    rows.append((kind, int(w), int(p), float(v)))
                    chosen.add(int(w))
        needed[node_id] = rows
    order = sorted(chosen)
    row_of = {w: i for i, w in enumerate(order)}
    acts = (
        node_activations(run.model, windows[order], list(node_ids), batch_size=cfg.batch_size)
        if order
        else torch.zeros(0, length, len(node_ids))
    )
    texts = _token_texts(run.tokenizer, windows[order]) if order else []
    result: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for col, node_id in enumerate(node_ids):
        entry: dict[str, list[dict[str, Any]]] = {"top": [], "bottom": []}
        for kind, w, p, v in needed[node_id]:
            lo = max(0, p - cfg.context_before)
            hi = min(length, p + cfg.context_after + 1)
            r = row_of[w]
            entry[kind].append(
                {
                    "tokens": texts[r][lo:hi],
                    "acts": [round_sig(a, 3) for a in acts[r, lo:hi, col].tolist()],
                    "focus": p - lo,
                    "value": round_sig(v),
                }
            )
        result[node_id] = entry
    return result


def _token_texts(tokenizer, rows: Tensor) -> list[list[str]]:
    """Display text of every token, memoised per id (windows repeat tokens a lot)."""
    memo: dict[int, str] = {}
    out = []
    for row in rows.tolist():
        texts = []
        for t in row:
            if t not in memo:
                memo[t] = tokenizer.token_text(t)
            texts.append(memo[t])
        out.append(texts)
    return out
