"""Bridges: hybrid passes with identity bridges, zero loss terms, bit-exact resume, steering, bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from ddp_helpers import become_rank, free_port
from safetensors.torch import load_file

from sparsecircuits.bridge.config import BridgeConfig
from sparsecircuits.bridge.model import (
    Bridges,
    bridge_losses,
    bridge_terms,
    draw_locations,
    load_bridged,
    locations,
)
from sparsecircuits.cli import main


def _identity(model, afrac: float = 0.0) -> Bridges:
    d = model.config.d_model
    b = Bridges(d, d, locations(model.config.n_layer), BridgeConfig(encoder_afrac=afrac))
    b.set_identity()
    return b


def test_identity_bridges_between_copies_give_the_models_own_logits(tiny_model) -> None:
    dense = tiny_model
    sparse = type(tiny_model)(tiny_model.config)
    sparse.load_state_dict(tiny_model.state_dict())
    sparse.eval()
    bridges = _identity(dense)
    x = torch.randint(0, 32, (3, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        own, h_dense = dense.run_with_cache(x, sites=bridges.sites)
        _, h_sparse = sparse.run_with_cache(x, sites=bridges.sites)
        for i, site in enumerate(bridges.sites):
            d2s = sparse.forward_from(site, bridges.encode(i, h_dense[site]), x)
            s2d = dense.forward_from(site, bridges.decode(i, h_sparse[site]), x)
            assert torch.allclose(d2s, own, atol=1e-6), site
            assert torch.allclose(s2d, own, atol=1e-6), site
    assert len(bridges.sites) == 2 * dense.config.n_layer + 1


def test_every_loss_term_is_zero_where_it_should_be(tiny_model) -> None:
    bridges = _identity(tiny_model)
    x = torch.randint(0, 32, (2, 10), generator=torch.Generator().manual_seed(1))
    y = torch.roll(x, -1, dims=1)
    n = len(bridges.sites)
    with torch.no_grad():
        terms = bridge_terms(tiny_model, tiny_model, bridges, x, y, list(range(n)), list(range(n)))
    for name in ("nmse_encoder", "nmse_decoder"):
        assert max(float(v) for v in getattr(terms, name)) < 1e-10, name
    for name in ("kl_dense_to_sparse", "kl_sparse_to_dense"):
        assert max(abs(float(v)) for v in getattr(terms, name).values()) < 1e-5, name
    lm = torch.nn.functional.cross_entropy(tiny_model(x).flatten(0, 1), y.flatten())
    assert torch.allclose(terms.lm, lm)
    # with every bridge coefficient 0 the loss is the language-model loss alone
    zero = BridgeConfig(
        nmse_encoder_coef=0,
        nmse_decoder_coef=0,
        kl_dense_to_sparse_coef=0,
        kl_sparse_to_dense_coef=0,
    )
    other = Bridges(16, 16, bridges.sites, zero)  # random bridges: nonzero terms
    with torch.no_grad():
        t2 = bridge_terms(tiny_model, tiny_model, other, x, y, [0], [1])
    total, named = bridge_losses(t2, zero)
    assert float(named["nmse_encoder"]) > 0 and float(named["kl_sparse_to_dense"]) > 0
    assert torch.equal(total, t2.lm)


def test_location_draws_are_a_function_of_seed_and_step() -> None:
    a = [draw_locations(9, 1, 0, s, "d2s") for s in range(1, 50)]
    assert a == [draw_locations(9, 1, 0, s, "d2s") for s in range(1, 50)]
    assert len({tuple(x) for x in a}) > 3  # they vary over steps
    assert draw_locations(9, 0, 0, 1, "d2s") == list(range(9))


def _bridge_config_file(tmp: Path, workspace: dict, **model) -> Path:
    from sparsecircuits.train.checkpoint import load_run_config

    vocab = load_run_config(workspace["run"]).model.vocab_size
    m = {
        "vocab_size": vocab,
        "block_size": 32,
        "n_layer": 1,
        "d_model": 16,
        "d_head": 4,
        "bigram_table": False,
        **model,
    }
    lines = ["[model]", *(f"{k} = {json.dumps(v)}" for k, v in m.items())]
    lines += [
        "[train]",
        f"corpus = {json.dumps(str(workspace['corpus']))}",
        "steps = 6",
        "batch_size = 2",
        "seq_len = 16",
        "eval_every = 3",
        "eval_batches = 1",
        "checkpoint_every = 3",
        "log_every = 1",
        "target_fraction = 0.25",
        "device = 'cpu'",
        "[bridge]",
        "hybrid_locations = 1",
    ]
    path = tmp / "bridge.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bridged_resume_is_bitwise_identical_and_the_run_opens_as_a_run(
    workspace, tmp_path: Path
) -> None:
    from sparsecircuits.bridge.train import train_bridged
    from sparsecircuits.train import load_run
    from sparsecircuits.train.config import load_config

    cfg = _bridge_config_file(tmp_path, workspace)
    full, part = tmp_path / "full", tmp_path / "part"
    train_bridged(load_config(cfg), workspace["run"], full)
    train_bridged(load_config(cfg), workspace["run"], part, stop_after=3)
    assert main_code(["bridge", "train", str(cfg), "--dense", str(workspace["run"]),
                      "--out", str(part), "--resume"]) == 0  # fmt: skip
    for name in ("model.safetensors", "bridges.safetensors"):
        a, b = load_file(str(full / name)), load_file(str(part / name))
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)
    rows_a = [json.loads(x) for x in (full / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (part / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("loss_kl_dense_to_sparse") for r in rows_a] == [
        r.get("loss_kl_dense_to_sparse") for r in rows_b
    ]
    assert "loss_nmse_decoder" in rows_a[-1] and "val_loss" in rows_a[-1]
    run = load_run(full)  # an ordinary run folder: every other command opens it
    assert run.config.extra["bridge"]["dense_weights_sha256"]
    bridged = load_bridged(full)
    assert bridged.bridges.sites == ["0.resid_pre", "0.resid_mid", "1.resid_pre"]


def main_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return int(e.value.code or 0)


def _identity_bridged_run(workspace: dict, tmp: Path) -> Path:
    """The workspace run as both the sparse and the dense model, with identity bridges."""
    from sparsecircuits import config as conf
    from sparsecircuits.train import load_run
    from sparsecircuits.train.checkpoint import save_weights

    run_dir = tmp / "bridged"
    shutil.copytree(workspace["run"], run_dir)
    run = load_run(run_dir)
    cfg = BridgeConfig(
        dense=str(workspace["run"]), dense_weights_sha256=run.weights_sha256, encoder_afrac=0
    )
    bridges = _identity(run.model)
    save_weights(bridges, run_dir / "bridges.safetensors", step=0)
    config = run.config
    config.extra["bridge"] = conf.to_table(cfg)
    (run_dir / "config.toml").write_text(config.to_toml())
    return run_dir


def test_steering_with_identity_bridges_reproduces_the_sparse_patch(
    workspace, circuit_file: Path, tmp_path: Path
) -> None:
    from sparsecircuits.bridge.steer import steer
    from sparsecircuits.core.circuit import read_circuit

    run_dir = _identity_bridged_run(workspace, tmp_path)
    data = json.loads(circuit_file.read_text())
    data["model"]["run"] = str(run_dir)
    circuit_file.write_text(json.dumps(data))
    node = read_circuit(circuit_file).node_ids[0]
    r = steer(load_bridged(run_dir), circuit_file, node, [0.0, 1.0], n=32, controls=3)
    assert r.rescale_factor == pytest.approx(1.0, rel=1e-5)
    assert r.curve.prob_other[0] == pytest.approx(r.sparse_prob_other_base, abs=1e-5)
    assert r.curve.prob_other[1] == pytest.approx(r.sparse_prob_other_patched, abs=1e-5)
    assert len(r.curve.control_mean) == 2 and r.curve.control_std[0] == 0.0
    # the CLI writes JSON and a plot
    out = tmp_path / "steer"
    code = main_code(["bridge", "steer", str(run_dir), "--circuit", str(circuit_file),
                      "--node", node, "--n", "16", "--controls", "2", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert len(list(out.glob("*.json"))) == 1 and len(list(out.glob("*.png"))) == 1


@pytest.mark.parametrize("case", ["n_layer", "no_dense", "node_not_in_circuit", "bad_node"])
def test_bad_inputs_exit_2_with_one_sentence(
    case: str, workspace, circuit_file: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    if case in ("n_layer", "no_dense"):
        cfg = _bridge_config_file(tmp_path, workspace, n_layer=2 if case == "n_layer" else 1)
        dense = str(workspace["run"]) if case == "n_layer" else str(tmp_path / "nowhere")
        argv = ["bridge", "train", str(cfg), "--dense", dense, "--out", str(out)]
    else:
        run_dir = _identity_bridged_run(workspace, tmp_path)
        data = json.loads(circuit_file.read_text())
        data["model"]["run"] = str(run_dir)
        circuit_file.write_text(json.dumps(data))
        kept = {n["id"] for n in data["nodes"]}
        node = "0.mlp.post_act:99999"
        if case == "node_not_in_circuit":
            node = next(
                f"0.mlp.post_act:{i}" for i in range(128) if f"0.mlp.post_act:{i}" not in kept
            )
        argv = ["bridge", "steer", str(run_dir), "--circuit", str(circuit_file), "--node", node,
                "--out", str(out)]  # fmt: skip
    assert main_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert {"n_layer": "layers", "no_dense": "not a run folder", "node_not_in_circuit":
            "not in the circuit", "bad_node": "does not have"}[case] in err  # fmt: skip
    assert not out.exists()


def _ddp_worker(rank: int, world: int, port: int, cfg_path: str, dense: str, out: str) -> None:
    from sparsecircuits.bridge.train import train_bridged
    from sparsecircuits.train.config import load_config

    become_rank(rank, world, port)
    train_bridged(load_config(cfg_path), dense, out)


def test_two_processes_train_the_same_bridged_run_as_one(workspace, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    from sparsecircuits.bridge.train import train_bridged
    from sparsecircuits.train.config import load_config

    cfg = _bridge_config_file(tmp_path, workspace)
    # fp32: in bf16 a batch split over two ranks rounds differently from one rank's whole batch
    cfg.write_text(cfg.read_text().replace("steps = 6", "steps = 3\nautocast_bf16 = false"))
    dense = str(workspace["run"])
    train_bridged(load_config(cfg), dense, tmp_path / "one")
    port = free_port()
    mp.start_processes(
        _ddp_worker,
        args=(2, port, str(cfg), dense, str(tmp_path / "two")),
        nprocs=2,
        join=True,
        start_method="fork",
    )
    for name in ("model.safetensors", "bridges.safetensors"):
        a = load_file(str(tmp_path / "one" / name))
        b = load_file(str(tmp_path / "two" / name))
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-6, msg=f"{name} {k}")


def test_resume_refuses_another_bridge_table_and_plain_train_ignores_it(
    workspace, tmp_path: Path, capsys
) -> None:
    from sparsecircuits.train.checkpoint import load_run_config

    cfg = _bridge_config_file(tmp_path, workspace)
    cfg.write_text(cfg.read_text().replace("steps = 6", "steps = 2"))
    out, dense = tmp_path / "run", str(workspace["run"])
    assert main_code(["bridge", "train", str(cfg), "--dense", dense, "--out", str(out)]) == 0
    capsys.readouterr()  # the first run's progress bar
    argv = ["bridge", "train", str(cfg), "--dense", dense, "--out", str(out), "--resume",
            "--set", "bridge.lm_coef=0.5", "--set", "train.steps=3"]  # fmt: skip
    assert main_code(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "bridge.lm_coef" in err and "\n" not in err
    plain = tmp_path / "plain"
    assert main_code(["train", str(cfg), "--out", str(plain)]) == 0
    assert load_run_config(plain).extra == {}
    assert "ignores the [bridge] table" in capsys.readouterr().err
