"""The `sparsecircuits prune` command on a tiny trained run: files, reuse, and clear errors."""

import json
import random
from pathlib import Path

import pytest

from sparsecircuits.cli import main

FAST = ["--steps", "3", "--set", "n_train=8", "--set", "n_heldout=4", "--set", "mean_tokens=256",
        "--set", "mean_seq_len=16", "--set", "bank_size=8", "--set", "max_len=24"]  # fmt: skip


_NAMES = ["total", "count", "items", "value", "result", "path", "data", "index", "name", "line"]


def _module(rng: random.Random) -> str:
    """A small Python file with loops, calls, strings and `with` blocks."""
    out = ["import os\n\n"]
    for i in range(rng.randint(3, 8)):
        a, b = rng.sample(_NAMES, 2)
        out.append(
            f"def func_{i}({a}, {b}=None):\n    for x in range({a}):\n        {b}.append(x)\n"
            f"    while {a}:\n        {a} -= 1\n    with open({b}) as f:\n        print('{a}', f)\n"
            f'    return {{"{a}": {b}}}\n\n'
        )
    return "".join(out)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder trained for 2 steps on a tiny corpus (built with the corpus and train APIs)."""
    from sparsecircuits.corpus import BuildConfig, build_corpus
    from sparsecircuits.train import train
    from sparsecircuits.train.config import RunConfig

    root = tmp_path_factory.mktemp("prune_cli")
    src = root / "src"
    src.mkdir()
    rng = random.Random(0)
    for i in range(30):
        (src / f"mod_{i:02d}.py").write_text(_module(rng))
    build_corpus(
        BuildConfig(
            sources=[str(src)],
            out=root / "corpus",
            vocab_size=300,
            val_fraction=0.25,
            progress=False,
        )
    )
    t = {"corpus": str(root / "corpus"), "steps": 2, "batch_size": 4, "seq_len": 16, "eval_every": 2,
         "eval_batches": 1, "checkpoint_every": 2, "log_every": 1, "device": "cpu"}  # fmt: skip
    m = {"vocab_size": 300, "block_size": 32, "n_layer": 2, "d_model": 16, "d_head": 4}
    train(RunConfig.from_dict({"model": m, "train": t}), root / "run")
    return root / "run"


def _prune(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(["prune", *[str(a) for a in args]])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _tasks(*names: str) -> list[str]:
    return [a for name in names for a in ("--task", name)]


def test_prunes_writes_and_reuses(tiny_run, tmp_path, capsys):
    out = tmp_path / "circuits"
    # a loose target: the untrained model meets it, so the pipeline runs end to end quickly
    args = [tiny_run, *_tasks("with_as", "for_while"), "--target-loss", "5", "--out", out, *FAST]
    before = {p.name: p.stat().st_mtime_ns for p in tiny_run.iterdir()}
    code, stdout, _ = _prune(capsys, *args)
    assert code == 0
    assert "with_as" in stdout and "for_while" in stdout and "edges" in stdout
    c = json.loads((out / "with_as.json").read_text())
    assert c["schema_version"] == 1 and c["task"]["name"] == "with_as" and c["ablation"] == "mean"
    assert c["losses"]["circuit"] <= 5 and c["counts"]["model_nodes"] > 0
    assert c["hyperparameters"]["steps"] == 3
    # the run folder is only read (statistics go to the user cache): a read-only run can be pruned
    assert {p.name: p.stat().st_mtime_ns for p in tiny_run.iterdir()} == before
    mtime = (out / "with_as.json").stat().st_mtime_ns
    code, _, err = _prune(capsys, *args)
    assert code == 0 and "reusing" in err
    assert (out / "with_as.json").stat().st_mtime_ns == mtime
    code, _, err = _prune(capsys, *args, "--seed", "1")
    assert code == 2 and "--force" in err


def test_unknown_task(tiny_run, tmp_path, capsys):
    code, _, err = _prune(capsys, tiny_run, "--task", "no_such_task", "--out", tmp_path)
    assert code == 2 and "unknown task 'no_such_task'" in err and "Traceback" not in err


def test_run_without_weights(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _prune(capsys, tmp_path / "empty", "--task", "with_as", "--out", tmp_path / "c")
    assert code == 2 and "model.safetensors" in err
    assert not (tmp_path / "c").exists()


def test_target_below_full_model(tiny_run, tmp_path, capsys):
    code, _, err = _prune(
        capsys, tiny_run, "--task", "with_as", "--target-loss", "0.001", "--out", tmp_path, *FAST
    )
    assert code == 2 and "above the target" in err
    assert not list(tmp_path.glob("*.json"))
    # with several tasks the others go on; here none can be pruned
    code, out, err = _prune(
        capsys,
        tiny_run,
        *_tasks("with_as", "for_while"),
        "--target-loss",
        "0.001",
        "--out",
        tmp_path,
        *FAST,
    )
    assert (
        code == 2
        and err.count("skipped (target unreachable)") == 2
        and "none of the 2 tasks" in err
    )


def test_search_keeps_fewest_edges(tiny_run, tmp_path, capsys):
    out = tmp_path / "s"
    args = [tiny_run, *_tasks("with_as"), "--target-loss", "5", "--search", "2", "--jobs", "1"]
    args += ["--out", out, *FAST]
    code, _, _ = _prune(capsys, *args)
    assert code == 0
    c = json.loads((out / "with_as.json").read_text())
    s = c["hyperparameters"]["search"]
    assert s["trials"] == 2 and len(s["history"]) == 2
    best = min(s["history"], key=lambda h: (h["edges"], h["nodes"], h["trial"]))
    assert s["best_trial"] == best["trial"] and c["counts"]["edges"] == best["edges"]
    assert c["hyperparameters"]["lr"] == best["lr"]


def test_search_suggestions_repeat_with_seed():
    import optuna

    from sparsecircuits.prune import PruneConfig
    from sparsecircuits.prune.search import suggest

    def draws(seed):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        out = []
        for i in range(4):
            t = study.ask()
            c = suggest(t, PruneConfig(steps=100))
            study.tell(t, float(i % 3))
            out.append((c.lr, c.k_coef, c.steps))
        return out

    assert draws(0) == draws(0) != draws(1)
    assert all(1e-3 <= lr <= 3e-2 and 50 <= steps <= 200 for lr, _, steps in draws(0))
