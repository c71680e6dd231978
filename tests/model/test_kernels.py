"""The C AbsTopK kernel against the torch path it replaces: same results, ties included, serial
and multi-threaded, and after a fork. (The projection kernel: tests/train/test_sparsity_select.py.)"""

import multiprocessing

import pytest
import torch

from sparsecircuits import kernels
from sparsecircuits.model import gpt

# Without a C compiler the kernels cannot be built (the torch paths run, tested elsewhere).
BUILT = kernels.usable(torch.zeros(1))
NOT_BUILT = "no C compiler: the kernels could not be built"
needs_kernels = pytest.mark.skipif(not BUILT, reason=NOT_BUILT)


@pytest.fixture(params=[1, 2], ids=["serial", "parallel"])
def threads(request, monkeypatch):
    """Run each test with the kernels on one thread, then split over two."""
    if not BUILT:
        pytest.skip(NOT_BUILT)
    monkeypatch.setattr(kernels, "_threads", lambda numel: request.param)
    return request.param


def _stable_reference(x: torch.Tensor, k: int) -> torch.Tensor:
    """AbsTopK with ties broken towards the lowest index, by a stable full sort."""
    order = x.abs().sort(dim=-1, descending=True, stable=True).indices[..., :k]
    return torch.zeros_like(x).scatter(-1, order, x.gather(-1, order))


@pytest.mark.parametrize(("shape", "k"), [((64, 128), 32), ((3, 5, 512), 128), ((7, 40), 1)])
def test_abs_topk_equals_torch_topk(threads, monkeypatch, shape, k) -> None:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(k))
    y, mask = kernels.abs_topk_rows(x, k)
    monkeypatch.setattr(kernels, "usable", lambda *_: False)  # the torch.topk path
    ref, ref_mask = gpt._abs_topk_masked(x, k)
    assert torch.equal(y, ref)
    assert torch.equal(mask, ref_mask)
    assert ((mask != 0).sum(-1) == k).all()


def test_abs_topk_ties_keep_exactly_k_lowest_indices_first(threads) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(-3, 4, (200, 64), generator=gen).float()  # 7 values: ties everywhere
    x[0] = 0.0  # a row of zeros: the first k are kept
    x[1] = torch.tensor([1.0, -1.0]).repeat(32)  # every entry ties
    for k in (1, 5, 16, 63):
        y, mask = kernels.abs_topk_rows(x, k)
        assert ((mask != 0).sum(-1) == k).all()
        assert torch.equal(y, _stable_reference(x, k))
        assert torch.equal(mask[0].nonzero().flatten(), torch.arange(k))


def test_abs_topk_rows_with_few_nonzeros(threads) -> None:
    x = torch.zeros(6, 128)
    x[:, ::8] = torch.arange(1.0, 17.0)  # 16 nonzeros per row, as in a sparse embedding row
    for k in (8, 16, 32):
        y, mask = kernels.abs_topk_rows(x, k)
        assert ((mask != 0).sum(-1) == k).all()
        assert torch.equal(y, _stable_reference(x, k))


def test_abs_topk_orders_extremes(threads) -> None:
    x = torch.tensor([[1e-40, -0.0, float("inf"), -3e38, 2.0, -1e-45, 5.0, 0.5]] * 4)
    y, _ = kernels.abs_topk_rows(x, 3)
    assert torch.equal(y[0], torch.tensor([0, 0, float("inf"), -3e38, 0, 0, 5.0, 0]))


@needs_kernels
def test_usable_only_for_contiguous_float32_on_cpu() -> None:
    x = torch.randn(4, 8)
    assert kernels.usable(x)
    assert not kernels.usable(x.double())
    assert not kernels.usable(x.bfloat16())
    assert not kernels.usable(x.t())


def _child(queue) -> None:
    x = torch.randn(512, 128, generator=torch.Generator().manual_seed(0))
    queue.put((kernels._forked, kernels.abs_topk_rows(x, 32)[0].numpy()))  # numpy: plain pickle


@needs_kernels
def test_forked_child_runs_serially_with_the_same_result() -> None:
    x = torch.randn(512, 128, generator=torch.Generator().manual_seed(0))
    parent = kernels.abs_topk_rows(x, 32)[0]  # starts the thread pool before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue,))
    proc.start()
    forked, child = queue.get(timeout=60)
    proc.join(timeout=60)
    assert forked and proc.exitcode == 0
    assert torch.equal(torch.from_numpy(child), parent)


@pytest.fixture
def fresh_load(monkeypatch, tmp_path):
    """Load the library anew into an empty cache folder; restore the session's one afterwards."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(kernels, "_lib", False)
    return tmp_path


@needs_kernels
def test_library_builds_into_the_cache_once(fresh_load) -> None:
    x = torch.randn(64, 128, generator=torch.Generator().manual_seed(0))
    assert kernels.usable(x)
    built = list((fresh_load / "sparsecircuits").glob("kernels-*.so"))
    assert len(built) == 1
    assert torch.equal(kernels.abs_topk_rows(x, 32)[0], _stable_reference(x, 32))
    stamp = built[0].stat().st_mtime_ns
    kernels._lib = False
    assert kernels.usable(x) and built[0].stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_without_a_compiler_the_torch_path_runs_with_a_warning(fresh_load, monkeypatch) -> None:
    monkeypatch.setenv("CC", str(fresh_load / "no-such-cc"))
    x = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match="no-such-cc.*trains about 1.3x slower"):
        assert not kernels.usable(x)
    assert not list(fresh_load.rglob("*.so"))
    assert torch.equal(gpt.abs_topk(x, 16), _stable_reference(x, 16))


def test_kernels_can_be_switched_off(fresh_load, monkeypatch) -> None:
    monkeypatch.setenv("SPARSECIRCUITS_KERNELS", "0")
    assert not kernels.usable(torch.zeros(4))


def test_an_unwritable_cache_falls_back_to_torch_with_a_warning(fresh_load, monkeypatch) -> None:
    blocker = fresh_load / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache folder cannot be made here
    with pytest.warns(UserWarning, match="kernels are unavailable.*not-a-folder"):
        assert not kernels.usable(torch.zeros(4))


def test_torch_path_breaks_ties_like_the_kernel(threads, monkeypatch) -> None:
    """Same kept set (so the same backward mask, so the same circuits) with and without the kernels."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(-2, 3, (300, 96), generator=gen).float()  # 5 values: ties everywhere
    x[::3] *= torch.rand(96, generator=gen) < 0.2  # rows with few nonzeros: ties at zero
    kernel = [kernels.abs_topk_rows(x, k) for k in (1, 7, 48, 95)]
    monkeypatch.setattr(kernels, "usable", lambda *_: False)
    for k, (y, mask) in zip((1, 7, 48, 95), kernel, strict=True):
        ref, ref_mask = gpt._abs_topk_masked(x, k)
        assert torch.equal(y, ref) and torch.equal(mask, ref_mask), k


def test_bf16_rows_keep_what_their_fp32_widening_keeps(threads) -> None:
    """bf16 selects on its own 15 magnitude bits: the kept set and tie order of the fp32 row."""
    gen = torch.Generator().manual_seed(2)
    x = (torch.randn(300, 96, generator=gen) * 4).round() / 4  # few values: ties everywhere
    x[::3] *= torch.rand(96, generator=gen) < 0.2  # rows with few nonzeros: ties at zero
    x[1] = torch.randn(96, generator=gen) * 1e-30  # tiny values, a binade far below the rest
    xb = x.bfloat16()
    for k in (1, 7, 48, 95):
        y, mask = kernels.abs_topk_rows(xb, k)
        ref, ref_mask = kernels.abs_topk_rows(xb.float(), k)
        assert y.dtype == torch.bfloat16 and torch.equal(mask, ref_mask), k
        assert torch.equal(y.float(), ref), k
