"""`sparsecircuits sweep` on two tiny models: trains, scores, prunes, compares, draws, and resumes."""

from __future__ import annotations

import json

import pytest

from sparsecircuits.cli import main

MODEL = "vocab_size = 2048\nblock_size = 64\nn_layer = 1\nd_model = 32\nd_head = 8\n"
TRAIN = (
    "steps = 2\nbatch_size = 4\nseq_len = 16\neval_every = 2\neval_batches = 1\n"
    "checkpoint_every = 2\nlog_every = 1\ndevice = 'cpu'\nlr = 0.01\n"
)


def _sweep_file(tmp_path, corpus) -> object:
    (tmp_path / "sparse.toml").write_text(
        f"[model]\n{MODEL}afrac = 0.25\n[train]\n{TRAIN}target_fraction = 0.5\nmin_row_nonzeros = 2\n"
    )
    (tmp_path / "dense.toml").write_text(
        f"[model]\n{MODEL}afrac = 0\n[train]\n{TRAIN}target_fraction = 1.0\n"
    )
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f"""[sweep]
corpus = "{corpus}"
tasks = ["single_double_quote", "with_as"]
eval_pairs = 8
target_loss = 5.0
size_targets = [3.0]

[prune]
steps = 3
n_train = 8
n_heldout = 4
mean_tokens = 256
mean_seq_len = 16
bank_size = 8
node_deltas = false

[[models]]
name = "s"
kind = "sparse"
config = "{tmp_path / "sparse.toml"}"

[[models]]
name = "d"
kind = "dense"
config = "{tmp_path / "dense.toml"}"
"""
    )
    return sweep


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    return out.out + out.err


def test_sweep_end_to_end_and_resume(workspace, tmp_path, capsys):
    sweep, out = _sweep_file(tmp_path, workspace["corpus"]), tmp_path / "out"
    text = _run(["sweep", sweep, "--out", out], capsys)
    assert "dense / sparse edges at matched loss" in text
    f = json.loads((out / "frontier.json").read_text())
    assert f["common_tasks"] == [
        "single_double_quote",
        "with_as",
    ]  # target 5: every task is in reach
    assert {p["name"]: p["kind"] for p in f["points"]} == {"s": "sparse", "d": "dense"}
    assert (
        f["best_sparse"] == "s" and f["matched_dense"] == "d" and f["dense_over_sparse_edges"] > 0
    )
    assert [r["target_loss"] for r in f["size_vs_loss"]] == [3.0, 5.0]
    for png in ("frontier.png", "size_vs_loss.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "circuits" / "s" / "with_as@5.json").is_file()
    # a second run reuses every finished model, score and circuit
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*.json") if p.name != "frontier.json"}
    weights = (out / "runs" / "s" / "model.safetensors").stat().st_mtime_ns
    again = _run(["sweep", sweep, "--out", out], capsys)
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp
    assert (out / "runs" / "s" / "model.safetensors").stat().st_mtime_ns == weights
    assert "s: reusing the trained run" in again and "training into" not in again


def test_bad_sweep_files(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    for text, words in [
        ("[sweep]\n", "lists no [[models]]"),
        (
            "[[models]]\nname = 'a'\nkind = 'sparse'\nrun = 'x'\n",
            "at least one sparse and one dense",
        ),
        ("[[models]]\nname = 'a'\nkind = 'medium'\nrun = 'x'\n", "one of sparse, dense"),
        ("[swep]\n", "unknown table [swep]"),
        ("[sweep]\neval_pairz = 3\n", "did you mean sweep.eval_pairs"),
    ]:
        bad.write_text(text)
        with pytest.raises(SystemExit) as e:
            main(["sweep", str(bad), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert e.value.code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()
