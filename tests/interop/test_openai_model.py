"""Import of the authors' model format: every variant the reference lists, strictness, safety, export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sparsecircuits.corpus import Tokenizer
from sparsecircuits.errors import UserError
from sparsecircuits.interop.openai_model import export_model, import_model, run_provenance
from sparsecircuits.train import load_run

from .openai_fixture import random_state, reference_logits, write_model

BASE = {"vocab_size": 300, "block_size": 16, "n_layer": 2, "n_head": 4, "d_model": 16}
# name -> (config keys over BASE, the position table is nonzero)
VARIANTS: dict[str, tuple[dict, bool]] = {
    "authors_defaults_no_positions": ({}, False),
    "added_positions": ({}, True),
    "sink": ({"sink": True}, False),
    "bigram_learned": ({"enable_bigram_table": True, "learnable_bigram_table": True}, False),
    "bigram_fixed": ({"enable_bigram_table": True, "learnable_bigram_table": False}, False),
    "cat_positions_learned": ({"d_pos_emb": 4}, True),
    "cat_positions_sinusoidal": ({"d_pos_emb": 6, "sinusoidal_cat_pos_emb": True}, True),
    "rms_norm": ({"rms_norm": True}, False),
    "layer_norm_no_ln_bias": ({"ln_bias": False}, False),
    "untied": ({"tied_unembed": False}, False),
    "residual_relu": ({"residual_activation_type": "relu"}, False),
    "relu_mlp": ({"activation_type": "relu"}, False),
    "abstopk_default_sites": ({"afrac": 0.5}, False),
    "abstopk_resid_post": (
        {"afrac": 0.5, "afrac_loctypes": "attn_in,resid_post_attn,resid_post_mlp"},
        False,
    ),
    "abstopk_every_site": (
        {
            "afrac": 0.4,
            "afrac_loctypes": "attn_in,attn_q,attn_k,attn_v,attn_out,mlp_in,mlp_neuron,mlp_out",
        },
        False,
    ),
    "d_head_not_d_model_over_n_head": ({"d_head": 6}, False),
    "no_biases": ({"bias": False, "ln_bias": False}, False),
    "n_mlp": ({"n_mlp": 24}, False),
    "non_flash_mask_buffer": ({"flash": False}, False),
    "everything": (
        {
            "sink": True,
            "rms_norm": True,
            "tied_unembed": False,
            "d_pos_emb": 4,
            "enable_bigram_table": True,
            "learnable_bigram_table": True,
            "residual_activation_type": "relu",
            "afrac": 0.5,
            "afrac_loctypes": "attn_in,attn_out,mlp_in,mlp_neuron,mlp_out,resid_post_mlp",
            "d_head": 3,
            "flash": False,
            "bias": False,
        },
        True,
    ),
}


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory) -> Path:
    """A small byte-level BPE saved as the GPT-2 data-gym files the authors use."""
    text = [Path(__file__).read_text(), Path(json.__file__).read_text()]
    tok = Tokenizer.train(text, vocab_size=300)
    folder = tmp_path_factory.mktemp("tok")
    tok.save_gpt2(folder)
    return folder


def _import(tmp_path: Path, beeg: dict, state: dict, tok_dir: Path, name: str = "run") -> Path:
    src = write_model(tmp_path / f"{name}-src", beeg, state)
    import_model(src, tmp_path / name, tok_dir, say=lambda m: None)
    return tmp_path / name


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_imported_logits_match_reference(variant, tmp_path, tok_dir):
    extra, positions = VARIANTS[variant]
    beeg = {**BASE, **extra}
    state = random_state(beeg, seed=len(variant), positions=positions)
    run = load_run(_import(tmp_path, beeg, state, tok_dir))
    idx = torch.randint(0, 300, (3, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = run.model(idx)
    want = reference_logits(beeg, state, idx)
    assert (ours - want).abs().max().item() < 1e-5
    expect_positions = "cat" if extra.get("d_pos_emb") else ("add" if positions else "none")
    assert run.model.config.positions == expect_positions


def test_provenance_and_ignored_keys(tmp_path, tok_dir):
    beeg = {**BASE, "dropout": 0.1, "bigram_table_rank": 8, "pfrac": 0.01}
    src = write_model(tmp_path / "src", beeg, random_state(beeg))
    said: list[str] = []
    import_model(src, tmp_path / "run", tok_dir, say=said.append)
    assert len(said) == 1 and "bigram_table_rank, pfrac" in said[0]  # runtime `dropout` is silent
    prov = run_provenance(tmp_path / "run")
    assert prov["beeg_config"] == beeg
    assert prov["ignored_keys"] == {"dropout": 0.1, "bigram_table_rank": 8, "pfrac": 0.01}
    assert len(prov["weights_sha256"]) == 64
    assert load_run(tmp_path / "run").tokenizer.vocab_size == 300


def test_missing_final_logits_bias_is_zero(tmp_path, tok_dir):
    state = random_state(BASE)
    del state["final_logits_bias"]
    run = load_run(_import(tmp_path, BASE, state, tok_dir))
    idx = torch.arange(16).view(1, 16)
    with torch.no_grad():
        assert torch.allclose(run.model(idx), reference_logits(BASE, state, idx), atol=1e-5)
    assert run.model.final_logits_bias is None


def _refusal(tmp_path, tok_dir, beeg, state) -> str:
    with pytest.raises(UserError) as e:
        _import(tmp_path, beeg, state, tok_dir, name="bad")
    assert not (tmp_path / "bad").exists()  # nothing half-written
    return str(e.value)


def test_every_mismatched_key_is_named_at_once(tmp_path, tok_dir):
    state = random_state(BASE)
    del state["transformer.h.1.mlp.c_fc.bias"]
    state["transformer.h.0.attn.extra"] = torch.zeros(3)
    state["transformer.h.0.ln_2.weight"] = torch.ones(17)
    msg = _refusal(tmp_path, tok_dir, BASE, state)
    assert "missing key transformer.h.1.mlp.c_fc.bias" in msg
    assert "unexpected key transformer.h.0.attn.extra" in msg
    assert "transformer.h.0.ln_2.weight has shape (17,)" in msg
    assert msg.count(".") > 3 and "\n" not in msg


def test_tied_lm_head_must_equal_the_embedding(tmp_path, tok_dir):
    state = random_state(BASE)
    state["lm_head.weight"] = state["transformer.wte.weight"].clone() + 1
    assert "lm_head.weight differs" in _refusal(tmp_path, tok_dir, BASE, state)


def test_bad_mask_buffer_and_config_are_named(tmp_path, tok_dir):
    beeg = {**BASE, "flash": False}
    state = random_state(beeg)
    state["transformer.h.0.attn.bias"] = torch.ones(1, 1, 8, 8)
    assert "is not a causal mask" in _refusal(tmp_path, tok_dir, beeg, state)
    bad = {**BASE, "activation_type": "swish"}
    assert "activation_type 'swish'" in _refusal(tmp_path, tok_dir, bad, random_state(BASE))
    both = {**BASE, "d_mlp": 64, "n_mlp": 32}
    assert "keep one" in _refusal(tmp_path, tok_dir, both, random_state(BASE))


def test_unpickling_is_refused_naming_the_object(tmp_path, tok_dir):
    import numpy as np

    state = {**random_state(BASE), "extra": np.zeros(3)}
    msg = _refusal(tmp_path, tok_dir, BASE, state)
    assert "needs full unpickling" in msg and "numpy" in msg
    assert "weights_only=False" not in msg


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sparsecircuits", *args], capture_output=True, text=True
    )


def test_cli_without_tokenizer_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYPYTHON_TOK_DIR", raising=False)
    src = write_model(tmp_path / "src", BASE, random_state(BASE))
    r = _cli("import", "openai", str(src), "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert "openaipublic.blob.core.windows.net/circuit-sparsity/tinypython" in r.stderr
    assert "--tokenizer" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_cli_refusals_are_one_line(tmp_path, tok_dir):
    r = _cli(
        "import", "openai", str(tmp_path), "--out", str(tmp_path / "x"), "--tokenizer", str(tok_dir)
    )
    assert r.returncode == 2 and "beeg_config.json" in r.stderr
    src = write_model(tmp_path / "src", BASE, random_state(BASE))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    r = _cli(
        "import", "openai", str(src), "--out", str(tmp_path / "full"), "--tokenizer", str(tok_dir)
    )
    assert r.returncode == 2 and "not empty" in r.stderr
    assert all(len(x.stderr.strip().splitlines()) == 1 for x in [r])


def test_export_then_import_is_bit_identical(workspace, tmp_path):
    out = tmp_path / "exported"
    export_model(workspace["run"], out)
    beeg = json.loads((out / "beeg_config.json").read_text())
    state = torch.load(out / "final_model.pt", weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    # what the reference lists for this config, and nothing else
    assert set(state) == set(random_state(beeg))
    run = load_run(workspace["run"])
    idx = torch.randint(0, run.model.config.vocab_size, (2, 24), generator=torch.Generator())
    with torch.no_grad():
        ours = run.model(idx)
    assert (reference_logits(beeg, state, idx) - ours).abs().max().item() < 1e-5

    back = tmp_path / "back"
    import_model(out, back, out, say=lambda m: None)
    a = load_file(workspace["run"] / "model.safetensors")
    b = load_file(back / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    again = load_run(back)
    assert again.model.config == run.model.config
    assert again.tokenizer.content_hash() == run.tokenizer.content_hash()
    with torch.no_grad():
        assert torch.equal(again.model(idx), ours)


def test_malicious_training_state_is_refused_in_one_line(tmp_path):
    import numpy as np

    (tmp_path / "run").mkdir()
    torch.save({"step": 3, "evil": np.ones(2)}, tmp_path / "run" / "train_state.pt")
    from sparsecircuits.train.checkpoint import load_train_state

    with pytest.raises(UserError) as e:
        load_train_state(tmp_path / "run")
    msg = str(e.value)
    assert "needs full unpickling" in msg and "numpy" in msg and "\n" not in msg
    assert "weights_only=False" not in msg and "delete the run folder" in msg
