"""Edge counting against a count done by hand on a hand-set weight pattern."""

import torch

from sparsecircuits.core.nodes import all_keep, keep_from_ids, site_widths
from sparsecircuits.model import ModelConfig, SparseGPT
from sparsecircuits.prune import count_edges


def test_edges_match_hand_count():
    cfg = ModelConfig(vocab_size=16, block_size=8, n_layer=1, d_model=8, d_head=4, d_mlp=8)
    model = SparseGPT(cfg)
    w = cfg.n_head * cfg.d_head  # 8 q/k/v channels
    blk = model.transformer.h[0]
    with torch.no_grad():
        for p in (
            blk.attn.c_attn.weight,
            blk.attn.c_proj.weight,
            blk.mlp.c_fc.weight,
            blk.mlp.c_proj.weight,
        ):
            p.zero_()
        blk.attn.c_attn.weight[1, 2] = 0.5  # act_in:2 -> q:1
        blk.attn.c_attn.weight[w + 3, 0] = -1.0  # act_in:0 -> k:3
        blk.attn.c_attn.weight[2 * w + 5, 2] = 0.25  # act_in:2 -> v:5
        blk.attn.c_attn.weight[2 * w + 6, 7] = 9.0  # act_in:7 not kept
        blk.attn.c_attn.weight[2 * w + 5, 1] = 9.0  # act_in:1 not kept (mlp.act_in:1 is)
        blk.attn.c_proj.weight[4, 5] = 2.0  # v:5 -> resid_delta:4
        blk.attn.c_proj.weight[1, 0] = 9.0  # v:0 not kept
        blk.mlp.c_fc.weight[3, 1] = -0.75  # mlp.act_in:1 -> post_act:3
        blk.mlp.c_fc.weight[2, 4] = 9.0  # post_act:2 not kept
        blk.mlp.c_proj.weight[0, 3] = 1.5  # post_act:3 -> mlp.resid_delta:0
    kept = keep_from_ids(
        site_widths(model),
        ["0.attn.act_in:0", "0.attn.act_in:2", "0.attn.q:1", "0.attn.k:3", "0.attn.v:5",
         "0.attn.v:6", "0.attn.resid_delta:4", "0.mlp.act_in:1", "0.mlp.act_in:4",
         "0.mlp.post_act:3", "0.mlp.resid_delta:0"],
    )  # fmt: skip
    got = sorted(count_edges(model, kept))
    want = sorted(
        [
            ("0.attn.act_in:2", "0.attn.q:1", 0.5),
            ("0.attn.act_in:0", "0.attn.k:3", -1.0),
            ("0.attn.act_in:2", "0.attn.v:5", 0.25),
            ("0.attn.v:5", "0.attn.resid_delta:4", 2.0),
            ("0.mlp.act_in:1", "0.mlp.post_act:3", -0.75),
            ("0.mlp.post_act:3", "0.mlp.resid_delta:0", 1.5),
        ]
    )
    assert got == want


def test_no_kept_nodes_no_edges(tiny_model):
    assert count_edges(tiny_model, all_keep(site_widths(tiny_model), False)) == []


def test_all_kept_counts_every_nonzero(tiny_model):
    kept = all_keep(site_widths(tiny_model), True)
    assert count_edges(tiny_model, {}) == count_edges(tiny_model, kept)  # missing site = kept
    n = 0
    for blk in tiny_model.transformer.h:
        for p in (
            blk.attn.c_attn.weight,
            blk.attn.c_proj.weight,
            blk.mlp.c_fc.weight,
            blk.mlp.c_proj.weight,
        ):
            n += int((p != 0).sum())
    assert len(count_edges(tiny_model, kept)) == n
