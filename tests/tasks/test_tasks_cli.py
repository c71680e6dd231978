"""The `sparsecircuits tasks` command."""

from __future__ import annotations

import json

import pytest

from sparsecircuits.cli import main
from sparsecircuits.tasks import task_names


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    out, err = capsys.readouterr()
    return e.value.code, out, err


@pytest.fixture(scope="module")
def tok_path(tokenizer, tmp_path_factory):
    return str(tokenizer.save(tmp_path_factory.mktemp("tok") / "tokenizer.json"))


def test_list_names_every_task(capsys):
    code, out, _ = run_cli(capsys, "tasks", "list")
    assert code == 0
    for name in task_names():
        assert f"{name}\n" in out


def test_show_json_lines(capsys, tok_path, tokenizer):
    code, out, _ = run_cli(
        capsys, "tasks", "show", "bracket_brace", "--n", "3", "--json", "--tokenizer", tok_path
    )
    assert code == 0
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 3
    for r in recs:
        assert set(r) == {"prompt_pos", "prompt_neg", "target_pos", "target_neg"}
        assert (r["target_pos"], r["target_neg"]) == (":", ",")
        assert r["prompt_pos"].rfind("{") > r["prompt_pos"].rfind("[")


def test_show_readable(capsys, tok_path):
    code, out, _ = run_cli(
        capsys, "tasks", "show", "with_open", "--n", "2", "--tokenizer", tok_path
    )
    assert code == 0 and "pair 1" in out and "=> 'w'" in out and "=> 'r'" in out


def test_unknown_task_exits_2_with_suggestion(capsys, tok_path):
    code, _, err = run_cli(capsys, "tasks", "show", "for_whille", "--tokenizer", tok_path)
    assert code == 2 and "for_while" in err and "Traceback" not in err


def test_eval_a_run(capsys, tmp_path, tokenizer):
    gpt = pytest.importorskip("sparsecircuits.model.gpt")
    cfgmod = pytest.importorskip("sparsecircuits.train.config")
    from sparsecircuits.train.checkpoint import save_weights

    mcfg = gpt.ModelConfig(
        vocab_size=tokenizer.vocab_size, block_size=64, n_layer=1, d_model=32, d_head=16
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text(
        cfgmod.RunConfig(model=mcfg, train=cfgmod.TrainConfig()).to_toml()
    )
    save_weights(gpt.SparseGPT(mcfg, seed=0), run / "model.safetensors", step=0)
    tokenizer.save(run / "tokenizer.json")
    code, out, _ = run_cli(
        capsys,
        "tasks",
        "eval",
        str(run),
        "--task",
        "for_while",
        "--task",
        "var_if",
        "--n",
        "8",
        "--json",
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["task"] for r in rows] == ["for_while", "var_if", "mean"]
    assert rows[2]["loss"] == pytest.approx((rows[0]["loss"] + rows[1]["loss"]) / 2)
    code, out, _ = run_cli(capsys, "tasks", "eval", str(run), "--task", "for_while", "--n", "8")
    assert code == 0 and "mean" in out
    code, _, err = run_cli(capsys, "tasks", "eval", str(run), "--task", "nope")
    assert code == 2 and "unknown task" in err
