"""Code-dense corpora: --strip, the synthetic source, weighted mixes and the contamination table."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from corpus_helpers import build, split_texts

from sparsecircuits.corpus.strip import parse_parts, strip_source

BOTH = frozenset({"docstrings", "comments"})


def test_strip_removes_docstrings_and_comments_and_keeps_code() -> None:
    src = (
        '"""Module doc."""\n'
        "import os  # why\n"
        "# a whole line\n"
        "def f(x):\n"
        '    """Only a docstring."""\n'
        "\n"
        "class A:\n"
        '    """Two\n    lines."""\n'
        "    x = 1  # trailing\n"
        "    def g(self):\n"
        "        '''doc'''\n"
        '        return "# not a comment", """not a docstring"""\n'
    )
    out = strip_source(src, BOTH)
    assert out == (
        "import os\n"
        "def f(x):\n"
        "    ...\n"
        "\n"
        "class A:\n"
        "    x = 1\n"
        "    def g(self):\n"
        '        return "# not a comment", """not a docstring"""\n'
    )
    ast.parse(out)
    only_comments = strip_source(src, frozenset({"comments"}))
    assert '"""Module doc."""' in only_comments and "# why" not in only_comments
    only_docs = strip_source(src, frozenset({"docstrings"}))
    assert "Module doc" not in only_docs and "# why" in only_docs


def test_strip_keeps_unparsable_text_to_the_caller() -> None:
    assert strip_source("def broken(:\n    # c\n", BOTH) is None
    assert strip_source("x = 1\n", BOTH) == "x = 1\n"
    with pytest.raises(ValueError):
        parse_parts("docstrings,types")


def test_strip_keeps_every_stdlib_module_parsable() -> None:
    """On real code: a spread of the standard library still parses after stripping."""
    from sparsecircuits.corpus.sources import stdlib_path

    files = sorted(stdlib_path().glob("*.py"))[::8]
    for path in files:
        text = path.read_text(encoding="utf-8")
        out = strip_source(text, BOTH)
        if out is not None:
            ast.parse(out)
            assert len(out) <= len(text)


def test_build_with_strip_counts_unparsable_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"m{i}.py").write_text(f'"""Doc {i}."""\n# note\nvalue_{i} = {i}  # tail\n')
    (src / "bad.py").write_text("def broken(:\n    # kept as it is\n")
    out = tmp_path / "c"
    build(["--source", str(src), "--strip", "docstrings,comments", "--out", str(out)])
    m = json.loads((out / "manifest.json").read_text())
    assert m["options"]["strip"] == ["docstrings", "comments"]
    assert m["sources"][0]["unparsed_kept"] == 1
    texts = split_texts(out, "train") + split_texts(out, "val")
    assert not any("Doc" in t or "# note" in t for t in texts if "broken" not in t)
    assert any("# kept as it is" in t for t in texts)


def test_synthetic_programs_parse_and_follow_the_seed() -> None:
    from sparsecircuits.corpus import synthetic

    a = synthetic.documents(3)
    first = [next(a) for _ in range(200)]
    for text in first:
        ast.parse(text)
    again = synthetic.documents(3)
    assert [next(again) for _ in range(5)] == first[:5]
    other = synthetic.documents(4)
    assert next(other) != first[0]
    joined = "".join(first)
    for idiom in (
        "def ",
        "class ",
        "__init__",
        "for ",
        "while ",
        "if ",
        "with open(",
        "lambda ",
        "return ",
        "f'",
        "try:",
        " in range(",
    ):
        assert idiom in joined.replace('f"', "f'"), idiom


def test_weighted_mix_and_synthetic_alone(code_dir: Path, tmp_path: Path) -> None:
    mix = tmp_path / "mix"
    build(["--source", str(code_dir) + ":0.6", "--source", "synthetic:0.4", "--out", str(mix)])
    m = json.loads((mix / "manifest.json").read_text())
    real, syn = m["sources"]
    assert syn["kind"] == "synthetic" and syn["spec"] == "synthetic:0.4"
    assert syn["tokens"]["val"] == 0  # the val split stays the real code's own
    share = syn["tokens"]["train"] / m["tokens"]["train"]
    assert 0.4 <= share < 0.55, share  # ends within one program (~900 tokens here) of its target
    alone = tmp_path / "alone"
    build(["--source", "synthetic", "--tokens", "3000", "--out", str(alone)])
    m = json.loads((alone / "manifest.json").read_text())
    assert 3000 <= m["tokens"]["train"] < 3000 + 1500


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--source", "synthetic"], "needs a size"),
        (["--source", "stdlib", "--tokens", "10"], "add `--source synthetic`"),
        (["--source", "synthetic:-1", "--tokens", "10"], "must be a positive number"),
        (["--source", "synthetic:0.5", "--source", "synthetic:0.5"], "given twice"),
        (["--source", "synthetic:1.5", "--source", "stdlib"], "leave no share"),
        (["--source", "stdlib:0.5"], "nothing to size"),
        (["--source", "synthetic:0.5", "--tokens", "10"], "give one of them"),
    ],
)
def test_bad_mixes_are_refused(argv: list[str], words: str, tmp_path: Path, capsys) -> None:
    from sparsecircuits.cli import main

    out = tmp_path / "c"
    with pytest.raises(SystemExit) as e:
        main(["corpus", "build", "--vocab-size", "300", *argv, "--out", str(out)])
    assert e.value.code == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_synthetic_source_does_not_import_the_tasks() -> None:
    """The generator shares no code, templates or word lists with the task generators."""
    code = (
        "import sys; import sparsecircuits.corpus.synthetic as s; next(s.documents(0)); "
        "print(sorted(m for m in sys.modules if m.startswith('sparsecircuits.tasks')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    source = Path(__import__("sparsecircuits.corpus.synthetic").corpus.synthetic.__file__)
    assert "tasks" not in "".join(
        line for line in source.read_text().splitlines() if line.startswith(("import", "from"))
    )


def test_contamination_finds_a_planted_prompt(tmp_path: Path) -> None:
    """A corpus that contains a task's held-out prompts verbatim is measured as contaminated."""
    from sparsecircuits.corpus import Tokenizer
    from sparsecircuits.tasks import contamination
    from sparsecircuits.tasks.registry import get_task

    clean = tmp_path / "clean"
    build(["--source", "synthetic", "--tokens", "4000", "--out", str(clean)])
    tok = Tokenizer.load(clean / "tokenizer.json")
    rows = {
        r.task: r for r in contamination.measure(clean, pairs=16, tasks=["single_double_quote"])
    }
    assert rows["single_double_quote"].contaminated == 0
    examples = get_task("single_double_quote").examples(tok, 16, "heldout", 0, 32)
    src = tmp_path / "src"
    src.mkdir()
    for i, e in enumerate(examples[:4]):  # 4 of the 16 prompts, as files of their own
        (src / f"leak{i}.py").write_text(tok.decode(e.pair.prompt_pos) + "\n")
    (src / "other.py").write_text("x = 1\n" * 50)
    leaky = tmp_path / "leaky"
    build(
        [
            "--source",
            str(src),
            "--tokenizer",
            str(clean / "tokenizer.json"),
            "--val-fraction",
            "0",
            "--out",
            str(leaky),
        ]
    )
    rows = {
        r.task: r for r in contamination.measure(leaky, pairs=16, tasks=["single_double_quote"])
    }
    assert rows["single_double_quote"].contaminated == 4
    hashes = contamination.training_hashes(leaky)
    assert np.all(hashes[:-1] <= hashes[1:])
    # a damaged table beside the corpus is a stale cache, not a crash of every `corpus info`
    (clean / contamination.CACHE_FILE).write_text("{not json")
    assert contamination.cached(clean, compute=False) is None
    (clean / contamination.CACHE_FILE).write_text('["a list"]')
    assert contamination.cached(clean, compute=False) is None
