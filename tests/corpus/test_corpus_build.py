"""Corpus build: sources, skips, duplicates, hash split, shards, manifest, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from corpus_helpers import build, split_texts, tiny_texts

from sparsecircuits.corpus import Tokenizer, load_manifest
from sparsecircuits.corpus.sources import SourceOptions, list_files, parse_source


def test_build_from_folder_round_trips_documents(code_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    build(["--source", str(code_dir), "--out", str(out), "--val-fraction", "0.2"])
    m = load_manifest(out)
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "tokenizer.json",
        "train_000.bin",
        "val_000.bin",
    ]
    assert m["files_seen"] == 60 and m["duplicates"] == 0 and m["skipped"] == {}
    assert m["documents"]["train"] + m["documents"]["val"] == 60
    assert m["documents"]["val"] > 0 and m["documents"]["train"] > 0
    assert m["vocab_size"] == 300 and m["eot_id"] == 299
    assert m["tokenizer_sha256"] == Tokenizer.load(out).content_hash()
    train, val = split_texts(out, "train"), split_texts(out, "val")
    assert sorted(train + val) == sorted(tiny_texts())  # nothing lost, nothing mangled
    assert not set(train) & set(val)
    assert m["tokens"]["train"] == (out / "train_000.bin").stat().st_size // 2


def test_glob_selects_files(code_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    (code_dir / "more.txt").write_text("second text file\n")
    build(["--source", str(code_dir), "--glob", "*.txt", "--out", str(out), "--val-fraction", "0"])
    assert sorted(split_texts(out, "train")) == ["not python\n", "second text file\n"]


def test_skips_are_counted_by_reason(code_dir: Path, tmp_path: Path) -> None:
    (code_dir / "bin.py").write_bytes(b"x = 1\x00\x01\n")
    (code_dir / "latin1.py").write_bytes("s = 'caf\xe9'\n".encode("latin-1"))
    (code_dir / "empty.py").write_bytes(b"")
    (code_dir / "blank.py").write_bytes(b"  \n\n")
    (code_dir / "big.py").write_text("x = 1\n" * 100)
    (code_dir / "dup.py").write_text(tiny_texts()[0])
    (code_dir / "crlf.py").write_bytes(b"a = 1\r\nb = '\xc3\xa9'\r\n")
    out = tmp_path / "c"
    build(["--source", str(code_dir), "--out", str(out), "--max-file-bytes", "500"])
    m = load_manifest(out)
    assert m["skipped"] == {"binary": 1, "empty": 2, "not_utf8": 1, "too_large": 1}
    assert m["duplicates"] == 1
    assert m["sources"][0]["documents"] == 61
    texts = split_texts(out, "train") + split_texts(out, "val")
    assert "a = 1\r\nb = 'é'\r\n" in texts  # CRLF and UTF-8 kept byte for byte


def test_jsonl_and_parquet_sources(tmp_path: Path) -> None:
    texts = tiny_texts(30)
    jl = tmp_path / "a.jsonl"
    rows = [{"code": t, "id": i} for i, t in enumerate(texts[:20])]
    rows += [{"code": None}, {"code": 3}, {"code": "\ud800 lone surrogate"}, {"code": texts[0]}]
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    pqf = tmp_path / "b.parquet"
    pq.write_table(pa.table({"code": texts[15:] + [None], "n": list(range(16))}), pqf)
    out = tmp_path / "c"
    build(["--source", str(jl), "--source", str(pqf), "--text-field", "code", "--out", str(out)])
    m = load_manifest(out)
    a, b = m["sources"]
    assert (a["kind"], b["kind"]) == ("jsonl", "parquet")
    assert a["items_seen"] == 24 and a["documents"] == 20 and a["duplicates"] == 1
    assert a["skipped"] == {"empty": 1, "not_text": 1, "not_utf8": 1}
    # rows 15..19 of the parquet file repeat JSONL documents
    assert b["items_seen"] == 16 and b["duplicates"] == 5 and b["documents"] == 10
    assert sorted(split_texts(out, "train") + split_texts(out, "val")) == sorted(texts)


def test_split_is_stable_when_sources_are_added(code_dir: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    for i in range(40):
        (extra / f"e{i}.py").write_text(f"extra_{i} = [{i}]\n")
    one, two = tmp_path / "one", tmp_path / "two"
    build(["--source", str(code_dir), "--out", str(one), "--val-fraction", "0.3"])
    build(
        [
            "--source",
            str(extra),
            "--source",
            str(code_dir),
            "--out",
            str(two),
            "--val-fraction",
            "0.3",
        ]
    )
    val_one = set(split_texts(one, "val"))
    val_two = set(split_texts(two, "val"))
    assert val_one and val_one == val_two & set(tiny_texts())


def test_same_seed_same_bytes_other_seed_other_split(code_dir: Path, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "0"), (b, "0"), (c, "1")):
        build(
            ["--source", str(code_dir), "--out", str(out), "--val-fraction", "0.3", "--seed", seed]
        )
    for name in ("train_000.bin", "val_000.bin", "tokenizer.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert set(split_texts(a, "val")) != set(split_texts(c, "val"))


def test_tiny_corpus_still_gets_a_val_document(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.py").write_text("a = 1\n")
    (d / "b.py").write_text("b = 2\n")
    out = tmp_path / "c"
    build(["--source", str(d), "--out", str(out)])
    assert load_manifest(out)["documents"] == {"train": 1, "val": 1}


def test_multiple_shards(code_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    build(
        [
            "--source",
            str(code_dir),
            "--out",
            str(out),
            "--shard-tokens",
            "200",
            "--val-fraction",
            "0",
        ]
    )
    m = load_manifest(out)
    files = [s["file"] for s in m["shards"]["train"]]
    assert len(files) > 3 and files[:2] == ["train_000.bin", "train_001.bin"]
    assert all(s["tokens"] <= 200 for s in m["shards"]["train"])
    assert sorted(split_texts(out, "train")) == sorted(tiny_texts())


def test_given_tokenizer_is_used(code_dir: Path, tmp_path: Path) -> None:
    tok = Tokenizer.train(tiny_texts(), vocab_size=280)
    tok.save_gpt2(tmp_path / "gpt2")
    out = tmp_path / "c"
    build(["--source", str(code_dir), "--out", str(out), "--tokenizer", str(tmp_path / "gpt2")])
    m = load_manifest(out)
    assert m["vocab_size"] == 280 and m["tokenizer"]["trained"] is False
    assert m["tokenizer_sha256"] == Tokenizer.load(out).content_hash()


def test_stdlib_listing_excludes_site_packages_and_optionally_tests() -> None:
    src = parse_source("stdlib")
    with_tests = list_files(src, SourceOptions(include_tests=True))
    without = list_files(src, SourceOptions(include_tests=False))
    assert len(without) < len(with_tests)
    for p in with_tests:
        parts = p.relative_to(src.path).parts
        assert "site-packages" not in parts and "dist-packages" not in parts
    for p in without:
        parts = p.relative_to(src.path).parts
        assert "test" not in parts and "tests" not in parts and not parts[-1].startswith("test_")
    assert any(p.name == "os.py" for p in without)
