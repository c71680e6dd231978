"""Node ids: the one parser, and checking ids against a model's sites."""

import pytest

from sparsecircuits.core.nodes import (
    NodeId,
    check_node_ids,
    ids_from_keep,
    keep_from_ids,
    parse_node_id,
    site_widths,
)
from sparsecircuits.errors import UserError


def test_parse_node_id_round_trips():
    nid = parse_node_id("3.attn.q:17")
    assert (
        nid == NodeId(3, "attn.q", 17) and nid.site_name == "3.attn.q" and str(nid) == "3.attn.q:17"
    )
    assert parse_node_id("0.mlp.post_act:0") == NodeId(0, "mlp.post_act", 0)


@pytest.mark.parametrize(
    "bad", ["3.attn.q", "3.attn.x:1", "3.attn.q:-1", "x.attn.q:1", "3.mlp.q:1", "", "3.attn.q:1:2"]
)
def test_parse_node_id_refuses_non_ids(bad):
    with pytest.raises(UserError, match="is not a node id"):
        parse_node_id(bad)


def test_ids_are_checked_against_the_model(tiny_model):
    widths = site_widths(tiny_model)
    assert list(widths)[:2] == ["0.attn.act_in", "0.attn.q"] and widths["0.mlp.post_act"] == 64
    keep = keep_from_ids(widths, ["0.attn.q:3", "1.mlp.post_act:63"])
    assert ids_from_keep(keep) == ["0.attn.q:3", "1.mlp.post_act:63"]
    with pytest.raises(UserError, match=r"'0.attn.q:99999'.*has 16 nodes"):
        check_node_ids(widths, ["0.attn.q:99999"], "c.json")
    with pytest.raises(UserError, match=r"'7.attn.q:1'.*layers 0..1"):
        check_node_ids(widths, ["7.attn.q:1"], "c.json")
