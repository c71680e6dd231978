"""Byte-level BPE tokenizer for Python code: training, loading (tokenizer.json or GPT-2 files), saving."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Regex, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as _HFTokenizer

from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_write_json, atomic_write_text

EOT = "<|endoftext|>"

# The pre-split regex of the paper's `tinypython_2k` tokenizer. It keeps a leading
# punctuation/space character with the word after it (` in`, `.add`, `'w`) and keeps runs of
# punctuation together (`")`, `]]`, `):`, ` +=`), so BPE can make those single tokens.
CODE_SPLIT_REGEX = (
    r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TOKENIZER_FILE = "tokenizer.json"
GPT2_VOCAB_FILE = "vocab.bpe"
GPT2_ENCODER_FILE = "encoder.json"

# Smallest useful vocabulary: the 256 byte tokens plus the end-of-text token.
_MIN_VOCAB = 257


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CODE_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _finish(hf: _HFTokenizer) -> _HFTokenizer:
    """Attach the code pre-splitter and byte-level decoder, and treat `<|endoftext|>` in text as text."""
    hf.normalizer = None
    hf.pre_tokenizer = _pre_tokenizer()
    hf.decoder = decoders.ByteLevel()
    hf.post_processor = None
    # A literal "<|endoftext|>" inside a source file must not become a document boundary.
    hf.encode_special_tokens = True
    return hf


class Tokenizer:
    """A byte-level BPE tokenizer with an `<|endoftext|>` token; `decode(encode(s)) == s`."""

    def __init__(self, hf: _HFTokenizer) -> None:
        self._hf = _finish(hf)
        eot = self._hf.token_to_id(EOT)
        if eot is None:
            raise UserError(
                f"the tokenizer has no {EOT!r} token; use a tokenizer trained by sparsecircuits or add that special token."
            )
        self._eot = int(eot)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int = 2048, show_progress: bool = False
    ) -> Tokenizer:
        """Train a byte-level BPE of `vocab_size` tokens (the last id is `<|endoftext|>`) on `texts`."""
        if vocab_size < _MIN_VOCAB or vocab_size > 65536:
            raise UserError(
                f"vocab size {vocab_size} is out of range; choose a --vocab-size between {_MIN_VOCAB} and 65536."
            )
        hf = _HFTokenizer(models.BPE())
        hf.pre_tokenizer = _pre_tokenizer()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size - 1,  # the end-of-text token is appended last, like tinypython_2k
            min_frequency=2,
            show_progress=show_progress,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=[],
        )
        hf.train_from_iterator(texts, trainer=trainer)
        hf.add_special_tokens([EOT])
        return cls(hf)

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Load a `tokenizer.json`, a folder holding one, or a folder with GPT-2 `vocab.bpe` + `encoder.json`."""
        path = Path(path)
        if path.is_dir():
            if (path / TOKENIZER_FILE).is_file():
                path = path / TOKENIZER_FILE
            elif (path / GPT2_VOCAB_FILE).is_file() and (path / GPT2_ENCODER_FILE).is_file():
                return cls.load_gpt2(path / GPT2_VOCAB_FILE, path / GPT2_ENCODER_FILE)
            else:
                raise UserError(
                    f"{path} holds no {TOKENIZER_FILE} and no {GPT2_VOCAB_FILE} + {GPT2_ENCODER_FILE}; point to a corpus, run or tokenizer folder."
                )
        if not path.is_file():
            raise UserError(f"tokenizer file {path} does not exist; check the path.")
        try:
            hf = _HFTokenizer.from_file(str(path))
        except Exception as e:  # the library raises bare Exceptions for malformed files
            raise UserError(
                f"{path} is not a valid tokenizer.json ({e}); rebuild it with `sparsecircuits corpus build`."
            ) from e
        return cls(hf)

    @classmethod
    def load_gpt2(cls, vocab_bpe: str | Path, encoder_json: str | Path) -> Tokenizer:
        """Load GPT-2 "data gym" files (the format of the paper's `tinypython_2k`)."""
        vocab_bpe, encoder_json = Path(vocab_bpe), Path(encoder_json)
        try:
            encoder = json.loads(encoder_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(
                f"cannot read {encoder_json} as JSON ({e}); supply a GPT-2 encoder.json."
            ) from e
        if not isinstance(encoder, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in encoder.items()
        ):
            raise UserError(
                f"{encoder_json} must map token strings to integer ids; supply a GPT-2 encoder.json."
            )
        merges: list[tuple[str, str]] = []
        try:
            lines = vocab_bpe.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"cannot read {vocab_bpe} ({e}); supply a GPT-2 vocab.bpe.") from e
        for lineno, line in enumerate(lines, 1):
            if not line or (lineno == 1 and line.startswith("#version")):
                continue
            parts = line.split(" ")
            if len(parts) != 2:
                raise UserError(
                    f"{vocab_bpe} line {lineno} is not a merge of two tokens; supply a GPT-2 vocab.bpe."
                )
            merges.append((parts[0], parts[1]))
        vocab = {k: v for k, v in encoder.items() if k != EOT}
        eot_id = encoder.get(EOT, len(vocab))
        if sorted(list(vocab.values()) + [eot_id]) != list(range(len(vocab) + 1)):
            raise UserError(
                f"the ids in {encoder_json} are not 0..N-1 without gaps; supply a GPT-2 encoder.json."
            )
        if eot_id != len(vocab):
            raise UserError(
                f"{EOT} must have the last id ({len(vocab)}) in {encoder_json}, not {eot_id}."
            )
        try:
            hf = _HFTokenizer(models.BPE(vocab=vocab, merges=merges))
        except Exception as e:
            raise UserError(
                f"{vocab_bpe} and {encoder_json} do not fit together ({e}); supply matching files."
            ) from e
        hf.add_special_tokens([EOT])
        return cls(hf)

    def save(self, path: str | Path) -> Path:
        """Write `tokenizer.json` (to `path`, or into it if `path` is a folder); returns the file path."""
        path = Path(path)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        atomic_write_text(path, self._hf.to_str(pretty=True))
        return path

    def save_gpt2(self, folder: str | Path) -> None:
        """Write the GPT-2 "data gym" files `vocab.bpe` and `encoder.json` into `folder`."""
        folder = Path(folder)
        model = json.loads(self._hf.to_str())["model"]
        merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
        encoder = dict(model["vocab"])
        encoder[EOT] = self._eot
        atomic_write_text(folder / GPT2_VOCAB_FILE, "#version: 0.2\n" + "\n".join(merges) + "\n")
        atomic_write_json(folder / GPT2_ENCODER_FILE, encoder)

    # ---- use ----------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of token ids (including `<|endoftext|>`)."""
        return int(self._hf.get_vocab_size(with_added_tokens=True))

    @property
    def eot_id(self) -> int:
        """Id of `<|endoftext|>`, the document separator."""
        return self._eot

    def encode(self, text: str) -> list[int]:
        """Token ids of `text` (a literal `<|endoftext|>` in text is encoded as ordinary text)."""
        return list(self._hf.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of many texts at once, in parallel."""
        texts = list(texts)
        if hasattr(self._hf, "encode_batch_fast"):
            encs = self._hf.encode_batch_fast(texts, add_special_tokens=False)
        else:
            encs = self._hf.encode_batch(texts, add_special_tokens=False)
        return [list(e.ids) for e in encs]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of `ids` (exact inverse of `encode`)."""
        return self._hf.decode([int(i) for i in ids], skip_special_tokens=False)

    def token_text(self, id: int) -> str:
        """What one token decodes to, for display (a partial UTF-8 character shows as U+FFFD)."""
        if not 0 <= int(id) < self.vocab_size:
            raise ValueError(f"token id {id} is outside the vocabulary of {self.vocab_size}")
        return self.decode([int(id)])

    def single_token(self, text: str) -> int | None:
        """The id if `text` encodes to exactly one token, else None."""
        if text == EOT:
            return self._eot
        ids = self.encode(text)
        return ids[0] if len(ids) == 1 else None

    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical tokenizer JSON: equal hashes mean equal tokenizers."""
        return hashlib.sha256(self._hf.to_str().encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, eot_id={self.eot_id})"
