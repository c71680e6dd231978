"""`sparsecircuits train` / `sample` from the command line: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w

from sparsecircuits.cli import main


def _write_config(tmp_path: Path, corpus: Path, **train) -> Path:
    from train_helpers import tiny_config_dict

    path = tmp_path / "cfg.toml"
    path.write_text(tomli_w.dumps(tiny_config_dict(corpus, **train)))
    return path


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def test_missing_config_file_exits_2(tmp_path: Path, capsys) -> None:
    assert _exit_code(["train", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config file") and "Traceback" not in err


def test_bad_set_key_exits_2(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    cfg = _write_config(tmp_path, tiny_corpus)
    code = _exit_code(["train", str(cfg), "--out", str(tmp_path / "r"), "--set", "train.lrr=0.1"])
    assert code == 2
    assert "unknown key train.lrr in --set; did you mean train.lr?" in capsys.readouterr().err
    assert (
        _exit_code(["train", str(cfg), "--out", str(tmp_path / "r"), "--set", "train.steps=abc"])
        == 2
    )
    assert _exit_code(["train", str(cfg), "--out", str(tmp_path / "r"), "--set", "lr=0.1"]) == 2
    assert not (tmp_path / "r").exists()


def test_unknown_key_in_file_names_key_and_file(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    cfg = _write_config(tmp_path, tiny_corpus, warmup=3)
    assert _exit_code(["train", str(cfg), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "train.warmup" in err and str(cfg) in err
    assert "did you mean train.warmup_frac?" in err


def test_train_resume_and_sample(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    cfg = _write_config(tmp_path, tiny_corpus, steps=3)
    run = tmp_path / "run"
    assert _exit_code(["train", str(cfg), "--out", str(run), "--set", "train.lr=0.02"]) == 0
    # existing run without --resume
    assert _exit_code(["train", str(cfg), "--out", str(run)]) == 2
    assert "--resume" in capsys.readouterr().err
    # resume a finished run with more steps (the same recipe: its lr override again)
    resume = ["train", str(cfg), "--out", str(run), "--resume", "--set", "train.lr=0.02"]
    assert _exit_code([*resume, "--set", "train.steps=4"]) == 0
    assert "steps = 4" in (run / "config.toml").read_text()
    assert "lr = 0.02" in (run / "config.toml").read_text()
    capsys.readouterr()
    assert _exit_code(["sample", str(run), "--prompt", "def func_1(", "--tokens", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("def func_1(")
    assert _exit_code(["sample", str(tmp_path / "none"), "--prompt", "x"]) == 2


def test_resume_with_a_different_config_exits_2(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    cfg = _write_config(tmp_path, tiny_corpus, steps=3)
    run = tmp_path / "run"
    assert _exit_code(["train", str(cfg), "--out", str(run)]) == 0
    saved = {p.name: p.read_bytes() for p in run.iterdir()}
    capsys.readouterr()
    for change in (["--set", "model.d_model=64"], ["--set", "train.lr=0.5"]):
        assert _exit_code(["train", str(cfg), "--out", str(run), "--resume", *change]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"{run} was trained with {change[1].split('=')[0]} = " in err
        assert str(run / "config.toml") in err
    other = tmp_path / "other.toml"
    assert "n_layer = 2" in cfg.read_text()
    other.write_text(cfg.read_text().replace("n_layer = 2", "n_layer = 3"))
    assert _exit_code(["train", str(other), "--out", str(run), "--resume"]) == 2
    assert "model.n_layer" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == saved  # nothing touched
    # its own config resumes (bookkeeping such as steps may change)
    own = ["train", str(run / "config.toml"), "--out", str(run), "--resume"]
    assert _exit_code([*own, "--set", "train.steps=4"]) == 0
