"""Corpus CLI: `info`, and every user mistake ends in exit code 2, one line, and no output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus_helpers import build

from sparsecircuits.cli import main


def run_cli(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def expect_user_error(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> str:
    code = run_cli(["corpus", "build", "--vocab-size", "300", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in last
    return last


def test_info_text_and_json(
    code_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c"
    build(["--source", str(code_dir), "--out", str(out)])
    capsys.readouterr()
    assert run_cli(["corpus", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "train:" in text and "val:" in text and "vocab 300" in text
    assert "unigram baseline: val loss" in text
    assert run_cli(["corpus", "info", str(out), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["vocab_size"] == 300 and m["sources"][0]["kind"] == "dir"
    assert 0 < m["unigram_val_loss"] < 6
    assert set(m) >= {
        "sources",
        "skipped",
        "duplicates",
        "tokens",
        "seed",
        "created_at",
        "format_version",
    }


def test_info_on_non_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["corpus", "info", str(tmp_path)]) == 2
    assert "not a corpus folder" in capsys.readouterr().err


def test_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c"
    expect_user_error(
        capsys, ["--source", str(tmp_path / "nope"), "--out", str(out)], "does not exist"
    )
    assert not out.exists()


def test_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("hi")
    out = tmp_path / "c"
    expect_user_error(
        capsys, ["--source", str(tmp_path / "empty"), "--out", str(out)], "no files matching"
    )
    assert not out.exists()


def test_only_unusable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.py").write_bytes(b"\x00\x00")
    out = tmp_path / "c"
    expect_user_error(
        capsys, ["--source", str(tmp_path / "d"), "--out", str(out)], "no usable documents"
    )
    assert not out.exists()


def test_bad_jsonl_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jl = tmp_path / "a.jsonl"
    jl.write_text('{"content": "x = 1"}\n{"content": "y = 2"}\n{not json\n')
    out = tmp_path / "c"
    expect_user_error(
        capsys, ["--source", str(jl), "--out", str(out)], str(jl), "line 3", "not valid JSON"
    )
    assert not out.exists()


def test_missing_text_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jl = tmp_path / "a.jsonl"
    jl.write_text('{"text": "x = 1"}\n')
    out = tmp_path / "c"
    expect_user_error(
        capsys, ["--source", str(jl), "--out", str(out)], "line 1", "'content'", "--text-field"
    )
    assert not out.exists()


def test_missing_parquet_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["x = 1"]}), f)
    out = tmp_path / "c"
    expect_user_error(
        capsys, ["--source", str(f), "--out", str(out)], "no column 'content'", "--text-field"
    )
    assert not out.exists()


def test_unsupported_file_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.csv"
    f.write_text("x")
    expect_user_error(
        capsys, ["--source", str(f), "--out", str(tmp_path / "c")], "neither .jsonl nor .parquet"
    )


def test_out_holds_a_corpus(
    code_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c"
    build(["--source", str(code_dir), "--out", str(out)])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    expect_user_error(
        capsys, ["--source", str(code_dir), "--out", str(out)], "already holds a corpus", "delete"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_out_holds_something_else(
    code_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    expect_user_error(capsys, ["--source", str(code_dir), "--out", str(out)], "not empty")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    f = tmp_path / "file"
    f.write_text("x")
    expect_user_error(capsys, ["--source", str(code_dir), "--out", str(f)], "is a file")


def test_empty_out_folder_is_accepted(code_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    out.mkdir()
    build(["--source", str(code_dir), "--out", str(out)])
    assert (out / "manifest.json").is_file()


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--val-fraction", "1.5"], ["--val-fraction"]),
        (["--vocab-size", "10"], ["--vocab-size"]),
        (["--max-file-bytes", "0"], ["--max-file-bytes"]),
    ],
)
def test_bad_numbers(
    code_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    words: list[str],
) -> None:
    out = tmp_path / "c"
    expect_user_error(capsys, ["--source", str(code_dir), "--out", str(out), *flags], *words)
    assert not out.exists()


def test_failure_while_writing_leaves_nothing(
    code_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sparsecircuits.corpus import build as build_mod

    calls = []
    real = build_mod._ShardWriter.write_document

    def fail_on_third(self, eot_id, ids):  # an interrupt in the middle of writing shards
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, eot_id, ids)

    monkeypatch.setattr(build_mod._ShardWriter, "write_document", fail_on_third)
    parent = tmp_path / "out"
    parent.mkdir()
    code = run_cli(
        [
            "corpus",
            "build",
            "--vocab-size",
            "300",
            "--source",
            str(code_dir),
            "--out",
            str(parent / "c"),
        ]
    )
    assert code == 130 and len(calls) == 3
    assert list(parent.iterdir()) == []  # neither the corpus nor its staging folder
