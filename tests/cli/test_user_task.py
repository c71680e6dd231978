"""A task of the user's own, cut from real code no generator wrote, through every command end to end."""

from __future__ import annotations

import json

import pytest

from sparsecircuits.cli import main


def _ok(argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    assert e.value.code == 0, out.err
    return out.out


def test_real_code_task_through_tasks_prune_validate_report(workspace, tmp_path, capsys):
    run, task = workspace["run"], tmp_path / "real_quotes.jsonl"
    # string literals of the stdlib files the workspace corpus was built from
    out = _ok(
        ["tasks", "from-code", workspace["root"] / "src", "--run", run, "--out", task, "--n", "96"],
        capsys,
    )
    assert "string-closing pairs" in out
    lines = [json.loads(x) for x in task.read_text().splitlines()]
    assert lines[0]["task"]["name"] == "real_quotes" and len(lines) > 20
    assert all(
        r["target_pos"].startswith("'") and r["target_neg"].startswith('"') for r in lines[1:]
    )

    out = _ok(["tasks", "show", task, "--run", run, "--n", "2"], capsys)
    assert "real_quotes" in out
    out = _ok(["tasks", "eval", run, "--task", task, "--n", "16"], capsys)
    assert "real_quotes" in out

    circuits = tmp_path / "circuits"
    fast = ["--steps", "5", "--target-loss", "5", "--set", "n_train=16", "--set", "n_heldout=8"]
    _ok(["prune", run, "--task", task, "--out", circuits, *fast], capsys)
    c = json.loads((circuits / "real_quotes.json").read_text())
    assert c["task"]["name"] == "real_quotes" and c["task"]["source"] == str(task.resolve())
    assert len(c["task"]["source_sha256"]) == 64

    out = _ok(
        ["validate", circuits / "real_quotes.json", "--checks", "sufficiency,necessity"], capsys
    )
    assert "overall verdict" in out
    _ok(["report", circuits, "--out", tmp_path / "r.html", "--no-snippets"], capsys)
    assert "real_quotes" in (tmp_path / "r.html").read_text()

    # the task file is part of the circuit's provenance: a changed file is refused, not silently used
    task.write_text(task.read_text() + "\n")
    with pytest.raises(SystemExit) as e:
        main(["validate", str(circuits / "real_quotes.json"), "--checks", "sufficiency", "--fresh"])
    assert e.value.code == 2 and "changed since" in capsys.readouterr().err


def test_export_round_trips_a_builtin_task(workspace, tmp_path, capsys):
    from sparsecircuits.tasks import get_task
    from sparsecircuits.train import load_run

    out = tmp_path / "with_as.jsonl"
    _ok(
        [
            "tasks",
            "export",
            "single_double_quote",
            "--run",
            workspace["run"],
            "--n",
            "40",
            "--out",
            out,
        ],
        capsys,
    )
    task = get_task(str(out))
    tok = load_run(workspace["run"]).tokenizer
    assert task.name == "single_double_quote"
    assert (
        len(task.pairs(tok, 100, split="train")) == 30
        and len(task.pairs(tok, 100, split="heldout")) == 10
    )
    builtin = get_task("single_double_quote").pairs(tok, 10, split="heldout", max_len=32)
    exported = task.pairs(tok, 10, split="heldout", seed=0, max_len=32)
    assert {p.target_pos for p in exported} == {p.target_pos for p in builtin}
