"""Masked and ablated forwards: exactness at the extremes, resample coherence, surrogate gradient."""

from types import SimpleNamespace

import torch

from sparsecircuits.core.ablation import Ablator, soft_interventions
from sparsecircuits.core.evaluate import evaluate
from sparsecircuits.core.nodes import all_keep, site_widths
from sparsecircuits.prune.mask import heaviside_mask
from sparsecircuits.tasks import TaskBatch


def ablated_forward(model, batch, keep, ablation, means=None, bank=None, seed=0):
    """Last-position logits of one chunk of prompts with the nodes outside `keep` ablated."""
    tb = TaskBatch(batch.tokens, batch.last_pos, batch.last_pos * 0, batch.last_pos * 0 + 1)
    return evaluate(model, tb, keep, Ablator(ablation, means, bank, seed), chunk=len(tb)).logits


def _batch():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 32, (4, 10), generator=g)
    return SimpleNamespace(tokens=tokens, last_pos=torch.tensor([9, 5, 7, 2]))


def _means(model):
    g = torch.Generator().manual_seed(3)
    return {s: torch.randn(w, generator=g) for s, w in site_widths(model).items()}


def test_all_on_equals_plain_forward_exactly(tiny_model):
    b = _batch()
    plain = tiny_model(b.tokens, last_pos=b.last_pos)
    keep = all_keep(site_widths(tiny_model), True)
    assert torch.equal(ablated_forward(tiny_model, b, keep, "mean", _means(tiny_model)), plain)
    ablator = Ablator("mean", _means(tiny_model))
    masks = {s: heaviside_mask(torch.full((w,), 0.3)) for s, w in site_widths(tiny_model).items()}
    with tiny_model.intervene(soft_interventions(masks, ablator)):
        soft = tiny_model(b.tokens, last_pos=b.last_pos)
    assert torch.equal(soft, plain)


def test_all_off_equals_constant_mean_forward(tiny_model):
    b = _batch()
    means = _means(tiny_model)
    const = {s: (lambda x, m=m: m.expand_as(x).clone()) for s, m in means.items()}
    with tiny_model.intervene(const):
        want = tiny_model(b.tokens, last_pos=b.last_pos)
    keep = all_keep(site_widths(tiny_model), False)
    assert torch.equal(ablated_forward(tiny_model, b, keep, "mean", means), want)
    masks = {s: heaviside_mask(torch.full((w,), -0.3)) for s, w in site_widths(tiny_model).items()}
    with tiny_model.intervene(soft_interventions(masks, Ablator("mean", means))):
        soft = tiny_model(b.tokens, last_pos=b.last_pos)
    assert torch.equal(soft, want)


def test_zero_ablation_of_one_site(tiny_model):
    b = _batch()
    keep = {"1.mlp.post_act": torch.zeros(64, dtype=torch.bool)}
    with tiny_model.intervene({"1.mlp.post_act": lambda x: torch.zeros_like(x)}):
        want = tiny_model(b.tokens, last_pos=b.last_pos)
    got = ablated_forward(tiny_model, b, keep, "zero")
    assert torch.equal(got, want)
    assert not torch.equal(got, tiny_model(b.tokens, last_pos=b.last_pos))


def test_resample_takes_one_bank_row_per_position(tiny_model):
    widths = site_widths(tiny_model)
    g = torch.Generator().manual_seed(5)
    bank = {s: torch.randn(7, w, generator=g) for s, w in widths.items()}
    ab = Ablator("resample", bank=bank, seed=1)
    ab.draw(4, 10)
    x = torch.zeros(4, 10, widths["0.attn.q"])
    v_q, v_k = ab.value("0.attn.q", x), ab.value("0.attn.k", x)
    # every position's vector is a whole bank row, the same row at every site
    for b in range(4):
        for t in range(10):
            r = [i for i in range(7) if torch.equal(v_q[b, t], bank["0.attn.q"][i])]
            assert len(r) == 1 and torch.equal(v_k[b, t], bank["0.attn.k"][r[0]])
    # same seed, same draws
    ab2 = Ablator("resample", bank=bank, seed=1)
    ab2.draw(4, 10)
    assert torch.equal(ab2.value("0.attn.q", x), v_q)


def test_surrogate_gradient():
    tau = torch.tensor([-0.5, 0.0, 0.7], requires_grad=True)
    m = heaviside_mask(tau, temperature=2.0)
    assert m.tolist() == [0.0, 1.0, 1.0]
    m.sum().backward()
    s = torch.sigmoid(tau.detach() / 2.0)
    assert torch.allclose(tau.grad, s * (1 - s) / 2.0)
