"""Run folders under faults: a crash in the first checkpoint, dead writers' temp files, one writer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sparsecircuits.train.checkpoint as ckpt
from sparsecircuits.errors import UserError
from sparsecircuits.locks import lock_path, writing
from sparsecircuits.train.loop import train


def test_crash_in_the_first_checkpoint_leaves_a_restartable_folder(
    tiny_run_config, tmp_path: Path, monkeypatch
) -> None:
    run = tmp_path / "run"
    real = ckpt.save_weights

    def dies(*a, **k):  # the process dies between the config and the weights
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt, "save_weights", dies)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_run_config(steps=3), run)
    assert not ckpt.holds_run(run)  # nothing half-written inside: the first checkpoint is whole
    # a kill -9 would leave the staging folder beside the run (here the exception removed it)
    (tmp_path / ".run.dead.tmp").mkdir()
    (tmp_path / ".run.dead.tmp" / "config.toml").write_text("x")
    monkeypatch.setattr(ckpt, "save_weights", real)
    train(tiny_run_config(steps=3), run)  # restarts without --resume
    assert (run / "model.safetensors").is_file()
    assert not list(tmp_path.glob(".run.*.tmp")) and not list(run.glob(".*.tmp"))


def test_resume_from_step_zero_writes_each_metrics_row_once(
    tiny_run_config, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    train(tiny_run_config(steps=4, checkpoint_every=2, log_every=1), run, stop_after=2)
    (run / ".model.safetensors.x.tmp").write_bytes(b"partial write of a dead process")
    state = ckpt.load_train_state(run)
    state["step"] = 0  # as if killed right after the first checkpoint
    import torch

    torch.save(state, run / ckpt.STATE_FILE)
    train(tiny_run_config(steps=4, checkpoint_every=2, log_every=1), run, resume=True)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) == [0, 1, 2, 3, 4]
    assert not list(run.glob(".*.tmp"))


def _holder(target: Path) -> subprocess.Popen:
    code = (
        "import sys, time\n"
        "from sparsecircuits.locks import writing\n"
        f"with writing({str(target)!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_writer_is_refused_naming_the_holder_and_a_dead_holder_is_taken_over(
    tmp_path: Path,
) -> None:
    target = tmp_path / "circuits"
    p = _holder(target)
    try:
        with pytest.raises(UserError) as e, writing(target):
            pass
        msg = str(e.value)
        assert f"process {p.pid}" in msg and "sparsecircuits" in msg and "since" in msg
        # the CLI: exit 2, one line, nothing written
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "sparsecircuits",
                "prune",
                "no-run",
                "--task",
                "x",
                "--out",
                str(target),
            ],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2 and f"process {p.pid}" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    time.sleep(0.1)
    with writing(target):  # the dead holder's lock is taken over
        assert json.loads(lock_path(target).read_text())["pid"] == os.getpid()


def test_two_trainings_of_one_run_one_is_refused(tiny_run_config, tmp_path: Path) -> None:
    run = tmp_path / "run"
    p = _holder(run)
    try:
        with pytest.raises(UserError, match="is being written by process"):
            train(tiny_run_config(steps=2), run)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert not run.exists()
