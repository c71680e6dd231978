"""Every command refuses bad input the same way: exit 2, one line on stderr, no traceback, nothing written.

One row per case; `{RUN}`, `{CORPUS}`, `{CIRCUIT}` and `{T}` (a fresh folder holding the bad
files below) are filled in per test. The workspace (run, corpus, circuit) comes from
tests/conftest.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sparsecircuits.cli import main

GOOD_PAIR = {
    "prompt_pos": "x = 'a",
    "prompt_neg": 'x = "a',
    "target_pos": "'",
    "target_neg": '"',
}


def _circuit_variant(circuit: dict, change: str) -> dict:
    c = json.loads(json.dumps(circuit))
    if change == "node99999":
        c["nodes"][0]["id"] = c["nodes"][0]["id"].rsplit(":", 1)[0] + ":99999"
        c["edges"], c["counts"]["edges"] = [], 0
    elif change == "wrongtypes":
        c["nodes"] = "all of them"
    elif change == "missing":
        del c["losses"]
    elif change == "absurd":
        c["target_loss"] = 1e30
    elif change == "layer9":
        c["nodes"][0]["id"] = "9" + c["nodes"][0]["id"][1:]
        c["edges"], c["counts"]["edges"] = [], 0
    return c


def _write_bad_files(t: Path, circuit_file: Path, corpus: Path) -> None:
    """The bad inputs the cases point at."""
    from sparsecircuits.corpus import Tokenizer

    shutil.copytree(corpus, t / "corpus_badtok")
    other = Tokenizer.train(["x = 1\n", "y = 2\n"], vocab_size=300)
    other.save(t / "corpus_badtok" / "tokenizer.json")
    shutil.copytree(corpus, t / "corpus_othertok")  # as if encoded with another tokenizer
    manifest = json.loads((corpus / "manifest.json").read_text())
    manifest["tokenizer_sha256"] = "0" * 64
    (t / "corpus_othertok" / "manifest.json").write_text(json.dumps(manifest))
    circuit = json.loads(circuit_file.read_text())
    (t / "bad.json").write_text("{")
    (t / "latin1.json").write_bytes(b"\xff\xfe{}")
    for change in ("node99999", "wrongtypes", "missing", "absurd", "layer9"):
        (t / f"{change}.json").write_text(json.dumps(_circuit_variant(circuit, change)))
    (t / "a_file").write_text("not a folder\n")
    (t / "bad.toml").write_text("[train\nsteps = 1\n")
    (t / "empty.jsonl").write_text("\n")
    (t / "badjson.jsonl").write_text(json.dumps(GOOD_PAIR) + "\n{nope\n")
    (t / "missingfield.jsonl").write_text(json.dumps({"prompt_pos": "x"}) + "\n")
    (t / "dup.jsonl").write_text(json.dumps(GOOD_PAIR) + "\n" + json.dumps(GOOD_PAIR) + "\n")
    long_target = {**GOOD_PAIR, "target_pos": "'the quick brown fox jumps"}
    (t / "multitoken.jsonl").write_text(json.dumps(long_target) + "\n")
    (t / "latin1.jsonl").write_bytes(b'{"prompt_pos": "\xff"}\n')
    (t / "emptydir").mkdir()
    (t / "random_tok").mkdir()
    (t / "random_tok" / "tokenizer.json").write_text('{"model": "not a tokenizer"}')
    (t / "circuits").mkdir()
    (t / "circuits" / "with_as.json").write_text('{"schema_version": 1, "nodes": [')


TRAIN = "configs/tiny-sparse.toml"
PRUNE_FAST = ["--steps", "3"]
CASES: dict[str, list[str]] = {
    # corpus
    "corpus build: missing source": ["corpus", "build", "--source", "{T}/nope", "--out", "{T}/c"],
    "corpus build: out is a file": [
        "corpus",
        "build",
        "--source",
        "{T}/emptydir",
        "--out",
        "{T}/a_file",
    ],
    "corpus build: vocab too small": [
        "corpus",
        "build",
        "--source",
        "stdlib",
        "--vocab-size",
        "10",
        "--out",
        "{T}/c",
    ],
    "corpus build: val fraction 1.5": [
        "corpus",
        "build",
        "--source",
        "stdlib",
        "--val-fraction",
        "1.5",
        "--out",
        "{T}/c",
    ],
    "corpus info: not a corpus": ["corpus", "info", "{T}/emptydir"],
    "corpus info: a random tokenizer.json": ["corpus", "info", "{T}/random_tok"],
    "corpus info: another corpus's tokenizer": ["corpus", "info", "{T}/corpus_badtok"],
    # train
    "train: config missing": ["train", "{T}/nope.toml", "--out", "{T}/r"],
    "train: config not TOML": ["train", "{T}/bad.toml", "--out", "{T}/r"],
    "train: betas 1.5": ["train", TRAIN, "--out", "{T}/r", "--set", "train.betas=1.5,0.9"],
    "train: eps -1": ["train", TRAIN, "--out", "{T}/r", "--set", "train.eps=-1"],
    "train: lr nan": ["train", TRAIN, "--out", "{T}/r", "--set", "train.lr=nan"],
    "train: batch size 0": ["train", TRAIN, "--out", "{T}/r", "--set", "train.batch_size=0"],
    "train: batch size -3": ["train", TRAIN, "--out", "{T}/r", "--set", "train.batch_size=-3"],
    "train: weight decay -0.1": [
        "train",
        TRAIN,
        "--out",
        "{T}/r",
        "--set",
        "train.weight_decay=-0.1",
    ],
    "train: seed -1": ["train", TRAIN, "--out", "{T}/r", "--set", "train.seed=-1"],
    "train: unknown key": ["train", TRAIN, "--out", "{T}/r", "--set", "train.lrr=0.1"],
    "train: not key=value": ["train", TRAIN, "--out", "{T}/r", "--set", "train.lr"],
    "train: cuda on a cpu build": [
        "train",
        TRAIN,
        "--out",
        "{T}/r",
        "--set",
        "train.device=cuda",
        "--set",
        "train.corpus={CORPUS}",
    ],
    "train: out is a file": [
        "train",
        TRAIN,
        "--out",
        "{T}/a_file",
        "--set",
        "train.corpus={CORPUS}",
    ],
    # sample
    "sample: temperature nan": ["sample", "{RUN}", "--prompt", "x", "--temperature", "nan"],
    "sample: tokens -1": ["sample", "{RUN}", "--prompt", "x", "--tokens", "-1"],
    "sample: no run": ["sample", "{T}/emptydir", "--prompt", "x"],
    # tasks
    "tasks list: tokenizer missing": ["tasks", "list", "--tokenizer", "{T}/nope.json"],
    "tasks show: unknown task": ["tasks", "show", "bogus", "--run", "{RUN}"],
    "tasks show: n 100000000": ["tasks", "show", "with_as", "--run", "{RUN}", "--n", "100000000"],
    "tasks show: empty task file": ["tasks", "show", "{T}/empty.jsonl", "--run", "{RUN}"],
    "tasks show: invalid JSON line": ["tasks", "show", "{T}/badjson.jsonl", "--run", "{RUN}"],
    "tasks show: missing field": ["tasks", "show", "{T}/missingfield.jsonl", "--run", "{RUN}"],
    "tasks show: duplicate pair": ["tasks", "show", "{T}/dup.jsonl", "--run", "{RUN}"],
    "tasks show: target not one token": ["tasks", "show", "{T}/multitoken.jsonl", "--run", "{RUN}"],
    "tasks show: task file missing": ["tasks", "show", "{T}/nope.jsonl", "--run", "{RUN}"],
    "tasks eval: batch size 0": ["tasks", "eval", "{RUN}", "--batch-size", "0"],
    "tasks eval: cuda on a cpu build": [
        "tasks",
        "eval",
        "{RUN}",
        "--device",
        "cuda",
        "--task",
        "with_as",
    ],
    "tasks eval: task file not UTF-8": ["tasks", "eval", "{RUN}", "--task", "{T}/latin1.jsonl"],
    "tasks eval: no run": ["tasks", "eval", "{T}/emptydir", "--task", "with_as"],
    "tasks export: not .jsonl": [
        "tasks",
        "export",
        "with_as",
        "--run",
        "{RUN}",
        "--out",
        "{T}/x.txt",
    ],
    "tasks export: out exists": [
        "tasks",
        "export",
        "with_as",
        "--run",
        "{RUN}",
        "--out",
        "{T}/empty.jsonl",
    ],
    "tasks from-code: missing source": [
        "tasks",
        "from-code",
        "{T}/nope",
        "--run",
        "{RUN}",
        "--out",
        "{T}/q.jsonl",
    ],
    "tasks from-code: no literals": [
        "tasks",
        "from-code",
        "{T}/emptydir",
        "--run",
        "{RUN}",
        "--out",
        "{T}/q.jsonl",
    ],
    # prune
    "prune: unknown task": ["prune", "{RUN}", "--task", "bogus", "--out", "{T}/c"],
    "prune: no task": ["prune", "{RUN}", "--out", "{T}/c"],
    "prune: out is a file": ["prune", "{RUN}", "--task", "with_as", "--out", "{T}/a_file"],
    "prune: k-coef -1": ["prune", "{RUN}", "--task", "with_as", "--k-coef", "-1", "--out", "{T}/c"],
    "prune: search -1": ["prune", "{RUN}", "--task", "with_as", "--search", "-1", "--out", "{T}/c"],
    "prune: jobs 0": ["prune", "{RUN}", "--task", "with_as", "--jobs", "0", "--out", "{T}/c"],
    "prune: temperature nan": [
        "prune",
        "{RUN}",
        "--task",
        "with_as",
        "--set",
        "temperature=nan",
        "--out",
        "{T}/c",
    ],
    "prune: lr 0": ["prune", "{RUN}", "--task", "with_as", "--lr", "0", "--out", "{T}/c"],
    "prune: steps 0": ["prune", "{RUN}", "--task", "with_as", "--steps", "0", "--out", "{T}/c"],
    "prune: unknown setting": [
        "prune",
        "{RUN}",
        "--task",
        "with_as",
        "--set",
        "k_coeff=1",
        "--out",
        "{T}/c",
    ],
    "prune: mean split test": [
        "prune",
        "{RUN}",
        "--task",
        "with_as",
        "--set",
        "mean_split=test",
        "--out",
        "{T}/c",
    ],
    "prune: corpus of another tokenizer": [
        "prune",
        "{RUN}",
        "--task",
        "with_as",
        "--corpus",
        "{T}/corpus_othertok",
        "--out",
        "{T}/c",
    ],
    "prune: no run": ["prune", "{T}/emptydir", "--task", "with_as", "--out", "{T}/c"],
    "prune: broken circuit is not reused": [
        "prune",
        "{RUN}",
        "--task",
        "with_as",
        *PRUNE_FAST,
        "--out",
        "{T}/circuits",
    ],
    "prune: broken task file": ["prune", "{RUN}", "--task", "{T}/dup.jsonl", "--out", "{T}/c"],
    # validate
    "validate: circuit missing": ["validate", "{T}/none.json"],
    "validate: not JSON": ["validate", "{T}/bad.json"],
    "validate: not UTF-8": ["validate", "{T}/latin1.json"],
    "validate: node index 99999": ["validate", "{T}/node99999.json"],
    "validate: node in layer 9": ["validate", "{T}/layer9.json"],
    "validate: nodes of the wrong type": ["validate", "{T}/wrongtypes.json"],
    "validate: losses missing": ["validate", "{T}/missing.json"],
    "validate: absurd target": ["validate", "{T}/absurd.json"],
    "validate: unknown check": ["validate", "{CIRCUIT}", "--checks", "magic"],
    "validate: draws 0": ["validate", "{CIRCUIT}", "--set", "stochastic_draws=0"],
    "validate: fraction nan": ["validate", "{CIRCUIT}", "--set", "stochastic_fraction=nan"],
    "validate: unknown setting": ["validate", "{CIRCUIT}", "--set", "stochastic_drawz=3"],
    "validate: run missing": ["validate", "{CIRCUIT}", "--run", "{T}/emptydir"],
    "validate: seed not a number": ["validate", "{CIRCUIT}", "--seed", "x"],
    # report / serve
    "report: not JSON": ["report", "{T}/bad.json", "--out", "{T}/r.html"],
    "report: node index 99999": ["report", "{T}/node99999.json", "--out", "{T}/r.html"],
    "report: nodes of the wrong type": ["report", "{T}/wrongtypes.json", "--out", "{T}/r.html"],
    "report: out is a folder": ["report", "{CIRCUIT}", "--out", "{T}/emptydir"],
    "report: snippet windows 0": [
        "report",
        "{CIRCUIT}",
        "--out",
        "{T}/r.html",
        "--snippet-windows",
        "0",
    ],
    "report: cuda on a cpu build": [
        "report",
        "{CIRCUIT}",
        "--out",
        "{T}/r.html",
        "--device",
        "cuda",
    ],
    "report: no circuits in folder": ["report", "{T}/emptydir", "--out", "{T}/r.html"],
    "serve: folder missing": ["serve", "{T}/nope"],
    "serve: port 70000": ["serve", "{T}/emptydir", "--port", "70000"],
    # sweep
    "sweep: file missing": ["sweep", "{T}/nope.toml", "--out", "{T}/s"],
    "sweep: not TOML": ["sweep", "{T}/bad.toml", "--out", "{T}/s"],
    "sweep: out is a file": ["sweep", "configs/sweep-zoo.toml", "--out", "{T}/a_file"],
    # demo
    "demo: unknown task": ["demo", "--task", "bogus", "--out", "{T}/d"],
    "demo: broken task file": ["demo", "--task", "{T}/empty.jsonl", "--out", "{T}/d"],
    "demo: n-tasks 0": ["demo", "--n-tasks", "0", "--out", "{T}/d"],
    "demo: unknown check": ["demo", "--checks", "magic", "--out", "{T}/d"],
    "demo: out is a file": ["demo", "--out", "{T}/a_file"],
}


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root in roots:
        for p in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if p.exists():
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_in_one_line(case, workspace, circuit_file, tmp_path, capsys):
    t = tmp_path / "t"
    t.mkdir()
    _write_bad_files(t, circuit_file, workspace["corpus"])
    names = {
        "{RUN}": str(workspace["run"]),
        "{CORPUS}": str(workspace["corpus"]),
        "{CIRCUIT}": str(circuit_file),
        "{T}": str(t),
    }
    argv = []
    for a in CASES[case]:
        for k, v in names.items():
            a = a.replace(k, v)
        argv.append(a)
    before = _snapshot(t, workspace["run"], circuit_file)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert e.value.code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert _snapshot(t, workspace["run"], circuit_file) == before  # nothing written or changed
    shutil.rmtree(t)
