"""The projection's selection routines (the C kernel; the torch radix select and per-row argmax)
against sort-based references."""

import math

import pytest
import torch

from sparsecircuits import kernels
from sparsecircuits.train import sparsity
from sparsecircuits.train.sparsity import kth_largest_key, project_tensor_


def _keys(w: torch.Tensor) -> torch.Tensor:
    return w.abs().float().view(torch.int32)


@pytest.mark.parametrize("n", [50, 70_000, 140_000])
def test_kth_largest_key_matches_sort(n: int) -> None:
    gen = torch.Generator().manual_seed(n)
    w = torch.randn(n, generator=gen) * 0.02
    w[: n // 3] = 0.0  # many ties at zero, as after a projection
    w[n // 3 : n // 3 + 100] = 0.5  # and a block of equal values
    keys = _keys(w)
    ordered = keys.sort(descending=True).values
    for k in (1, 7, n // 8, n // 2, min(n, n - n // 3 + 50), n):
        assert int(kth_largest_key(keys, k)) == int(ordered[k - 1])


def _reference_projection(w: torch.Tensor, fraction: float, j: int) -> torch.Tensor:
    """The rule of sparsity.py written with a full sort: row top-j protected, global top-k kept."""
    n = w.numel()
    k = max(1, min(n, math.ceil(fraction * n - 1e-9)))
    scores = w.abs().double()
    if w.dim() == 2 and j > 0:
        top = scores.sort(dim=1, descending=True, stable=True).indices[:, : min(j, w.shape[1])]
        scores.scatter_(1, top, math.inf)
    threshold = scores.view(-1).sort(descending=True).values[k - 1]
    return w * (scores >= threshold)


@pytest.fixture(params=["torch", "kernel-serial", "kernel-parallel"])
def path(request, monkeypatch):
    """Run a test on the torch path, then on the C kernel on one thread and on two."""
    if request.param == "torch":
        monkeypatch.setattr(kernels, "usable", lambda *_: False)
    elif not kernels.usable(torch.zeros(1)):
        pytest.skip("no C compiler: the kernels could not be built")
    else:
        threads = 1 if request.param == "kernel-serial" else 2
        monkeypatch.setattr(kernels, "_threads", lambda numel: threads)
    return request.param


@pytest.mark.parametrize("shape", [(300, 240), (64, 33), (1000,)])
@pytest.mark.parametrize("j", [0, 4, 12])
def test_projection_matches_sort_reference(path, shape: tuple[int, ...], j: int) -> None:
    gen = torch.Generator().manual_seed(sum(shape) + j)
    w = torch.randn(*shape, generator=gen)  # distinct magnitudes almost surely
    for fraction in (0.01, 0.125, 0.6):
        got = w.clone()
        project_tensor_(got, fraction, j)
        assert torch.equal(got, _reference_projection(w, fraction, j))


@pytest.mark.parametrize("shape", [(300, 240), (64, 33), (16, 8), (70_000,)])
@pytest.mark.parametrize("j", [0, 4, 12])
def test_kernel_projection_with_ties_keeps_first_indices(path, shape, j) -> None:
    """Ties at zero (as after an earlier projection) and a block of equal values: the kernel and
    the torch path keep the same counts; the kernel also breaks row ties like the stable sort."""
    gen = torch.Generator().manual_seed(sum(shape) + j)
    w = torch.randn(*shape, generator=gen) * 0.02
    flat = w.view(-1)
    flat[: flat.numel() // 3] = 0.0
    flat[flat.numel() // 3 : flat.numel() // 3 + 40] = 0.01
    for fraction in (0.01, 0.125, 0.6):
        got = w.clone()
        project_tensor_(got, fraction, j)
        want = _reference_projection(w, fraction, j)
        if path != "torch" or j <= sparsity._ARGMAX_MAX_J:  # torch.topk breaks ties anyhow
            assert torch.equal(got, want)
        assert got.count_nonzero() == want.count_nonzero()


def test_row_top_indices_argmax_and_topk_paths_agree() -> None:
    gen = torch.Generator().manual_seed(0)
    keys = _keys(torch.randn(50, 40, generator=gen))
    for j in (1, 4, sparsity._ARGMAX_MAX_J, sparsity._ARGMAX_MAX_J + 1):
        idx = sparsity._row_top_indices(keys, j)
        assert idx.shape == (50, j)
        want = keys.topk(j, dim=1).indices
        assert torch.equal(idx.sort(1).values, want.sort(1).values)


def test_kernel_projection_when_its_sample_misleads(path) -> None:
    """The C kernel brackets the threshold from a sample of 4096 keys (kernels.c); plant large
    values at exactly those places so that the bracket misses, and the result must not change."""
    n, sample = 70_000, 4096
    stride = n // sample
    w = torch.randn(n, generator=torch.Generator().manual_seed(0)) * 0.01
    at = [i * stride + (i * 2654435761) % stride for i in range(sample)]
    w[at] = 1.0
    for fraction in (0.01, 0.125, 0.6):
        got = w.clone()
        project_tensor_(got, fraction, 0)
        assert torch.equal(got, _reference_projection(w, fraction, 0))
