"""Tokenizer: training, exact round trip, saving/loading, GPT-2 files, code-friendly pre-split."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from corpus_helpers import tiny_texts
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecircuits.corpus.tokenizer import EOT, Tokenizer, _pre_tokenizer
from sparsecircuits.errors import UserError


@functools.cache
def small_tok() -> Tokenizer:
    """A 300-token BPE trained once per test session on a few KB."""
    return Tokenizer.train(tiny_texts(), vocab_size=300)


def test_train_sizes_and_eot_last() -> None:
    tok = small_tok()
    assert tok.vocab_size == 300
    assert tok.eot_id == 299
    assert tok.token_text(tok.eot_id) == EOT
    # merges happened: common code is shorter than its bytes
    text = tiny_texts()[3]
    assert len(tok.encode(text)) < len(text.encode("utf-8")) * 0.6


def test_training_is_deterministic() -> None:
    a = Tokenizer.train(tiny_texts(), vocab_size=300)
    b = Tokenizer.train(list(reversed(tiny_texts())), vocab_size=300)
    assert a.content_hash() == small_tok().content_hash()
    assert b.content_hash() == a.content_hash()  # counts, not order, decide the merges


SPECIAL_PIECES = [
    "\t",
    "\r\n",
    "\r",
    "\n",
    "\x00",
    "é",
    "日本",
    "🙂",
    "\u200b",
    "\ufeff",
    EOT,
    '")',
    "]]",
    "  ",
]
code_text = st.lists(
    st.one_of(st.text(max_size=12), st.sampled_from(SPECIAL_PIECES)), max_size=20
).map("".join)


@settings(max_examples=300, deadline=None)
@given(code_text)
def test_round_trip(s: str) -> None:
    tok = small_tok()
    ids = tok.encode(s)
    assert tok.decode(ids) == s
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.eot_id not in ids  # a literal <|endoftext|> is text, not a boundary


def test_encode_batch_matches_encode() -> None:
    tok = small_tok()
    texts = tiny_texts(10) + ["", "a\tb\r\nc\x00", EOT]
    assert tok.encode_batch(texts) == [tok.encode(t) for t in texts]


def test_single_token_and_token_text() -> None:
    tok = small_tok()
    assert tok.single_token(EOT) == tok.eot_id
    assert tok.single_token("a") == tok.encode("a")[0]
    assert tok.single_token("def add(a, b):") is None
    assert tok.single_token("") is None
    for i in tok.encode(tiny_texts()[1]):
        t = tok.token_text(i)
        assert t and tok.decode([i]) == t
    with pytest.raises(ValueError):
        tok.token_text(tok.vocab_size)


def test_pre_split_keeps_punctuation_runs_and_prefixed_words() -> None:
    pieces = [p for p, _ in _pre_tokenizer().pre_tokenize_str('    print("x")):\n')]
    # ByteLevel shows spaces as 'Ġ' and newlines as 'Ċ'
    assert pieces == ["ĠĠĠ", "Ġprint", '("', "x", '")):Ċ']
    pieces = [p for p, _ in _pre_tokenizer().pre_tokenize_str("s.add(x) in y\n'w'")]
    assert ".add" in pieces and "Ġin" in pieces and "'w" in pieces


def test_save_load_same_tokenizer(tmp_path: Path) -> None:
    tok = small_tok()
    path = tok.save(tmp_path)
    assert path == tmp_path / "tokenizer.json"
    for loaded in (Tokenizer.load(path), Tokenizer.load(tmp_path)):
        assert loaded.content_hash() == tok.content_hash()
        assert loaded.eot_id == tok.eot_id and loaded.vocab_size == tok.vocab_size
        text = "x = 1\r\n\tif y:\x00 " + EOT
        assert loaded.encode(text) == tok.encode(text)


def test_gpt2_files_round_trip(tmp_path: Path) -> None:
    tok = small_tok()
    tok.save_gpt2(tmp_path)
    assert (tmp_path / "vocab.bpe").read_text().startswith("#version")
    loaded = Tokenizer.load(tmp_path)  # a folder with vocab.bpe + encoder.json
    assert loaded.vocab_size == tok.vocab_size and loaded.eot_id == tok.eot_id
    texts = tiny_texts() + ["ünïcode\t\r\n", "a" * 50, EOT]
    assert loaded.encode_batch(texts) == tok.encode_batch(texts)


def test_gpt2_encoder_without_eot_appends_it(tmp_path: Path) -> None:
    tok = small_tok()
    tok.save_gpt2(tmp_path)
    enc = json.loads((tmp_path / "encoder.json").read_text())
    del enc[EOT]
    (tmp_path / "encoder.json").write_text(json.dumps(enc))
    loaded = Tokenizer.load(tmp_path)
    assert loaded.eot_id == tok.eot_id == len(enc)
    assert loaded.encode(tiny_texts()[0]) == tok.encode(tiny_texts()[0])


def test_bad_tokenizer_paths(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        Tokenizer.load(tmp_path / "nope.json")
    with pytest.raises(UserError, match="holds no tokenizer.json"):
        Tokenizer.load(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="not a valid tokenizer.json"):
        Tokenizer.load(bad)
    (tmp_path / "vocab.bpe").write_text("#version: 0.2\na b c\n")
    (tmp_path / "encoder.json").write_text('{"a": 0, "b": 1}')
    with pytest.raises(UserError, match="line 2"):
        Tokenizer.load(tmp_path)
    with pytest.raises(UserError, match="vocab size"):
        Tokenizer.train(["abc"], vocab_size=100)
