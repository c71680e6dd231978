"""Tasks from a user's `.jsonl` file of prompt pairs, and writing a built-in task in that format.

One JSON object per line: `prompt_pos`, `prompt_neg`, `target_pos`, `target_neg` (text), and
optionally `split` ("train" or "heldout"; otherwise the pair is split by a hash of its tokens,
as the built-in tasks are). An optional first line `{"task": {"name", "description",
"class_pos", "class_neg"}}` names the task. Every target must be one token of the model's
tokenizer. The file is checked once, when it is opened, and every problem names its line.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sparsecircuits.errors import UserError
from sparsecircuits.tasks.base import (
    SPLITS,
    Example,
    Pair,
    TaskBase,
    TaskLike,
    TokenizerLike,
    split_of,
)

TASK_FILE_SUFFIX = ".jsonl"
FIELDS = ("prompt_pos", "prompt_neg", "target_pos", "target_neg")
HEADER_FIELDS = ("name", "description", "class_pos", "class_neg")


def is_task_file(spec: str) -> bool:
    """True when a task argument names a file rather than a built-in task."""
    return spec.endswith(TASK_FILE_SUFFIX) or "/" in spec or "\\" in spec


@dataclass(frozen=True)
class TaskSource:
    """Where a file task came from: its path and the sha256 of its bytes."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class FileRecord:
    """One line of a task file, as text."""

    line: int
    prompt_pos: str
    prompt_neg: str
    target_pos: str
    target_neg: str
    split: str | None


@dataclass
class FileTask(TaskBase):
    """A task whose pairs are the lines of a `.jsonl` file."""

    name: str
    description: str
    class_pos: str
    class_neg: str
    records: list[FileRecord]
    source: TaskSource

    def token_pair(self, tokenizer: TokenizerLike) -> str:
        """The most common targets of each class, in words."""
        pos = Counter(r.target_pos for r in self.records).most_common(3)
        neg = Counter(r.target_neg for r in self.records).most_common(3)
        return f"A {' / '.join(repr(t) for t, _ in pos)} vs B {' / '.join(repr(t) for t, _ in neg)}"

    def _examples(
        self, tokenizer: TokenizerLike, n: int, split: str, seed: int, max_len: int
    ) -> list[Example]:
        """Up to `n` distinct pairs of `split` in a seeded order (all of them if the file has fewer)."""
        out: list[Example] = []
        seen: set[tuple] = set()
        for rec in self.records:
            ex = self._encode(tokenizer, rec, max_len)
            if (rec.split or split_of(ex.pair)) != split or ex.pair.key() in seen:
                continue
            seen.add(ex.pair.key())
            out.append(ex)
        if n > 0 and not out:
            raise UserError(
                f"task file {self.source.path} has no {split} pairs; mark some lines "
                f'"split": "{split}" or add lines (unmarked pairs are split 3:1 by hash).'
            )
        random.Random(f"{self.name}|{seed}|{split}").shuffle(out)
        return out[:n]

    def _encode(self, tok: TokenizerLike, rec: FileRecord, max_len: int) -> Example:
        targets = []
        for key in ("target_pos", "target_neg"):
            text = getattr(rec, key)
            t = tok.single_token(text)
            if t is None:
                pieces = [tok.token_text(i) for i in tok.encode(text)]
                raise UserError(
                    f"{self.source.path} line {rec.line}: {key} {text!r} is not one token of this "
                    f"tokenizer (it splits into {pieces}); use a single-token target."
                )
            targets.append(t)
        if targets[0] == targets[1]:
            raise UserError(
                f"{self.source.path} line {rec.line}: both targets are the token {rec.target_pos!r}; "
                "the two prompts must continue differently."
            )
        prompts = []
        for key in ("prompt_pos", "prompt_neg"):
            ids = tok.encode(getattr(rec, key))
            if not ids:
                raise UserError(
                    f"{self.source.path} line {rec.line}: {key} encodes to no tokens; give it some text."
                )
            prompts.append(ids[-max_len:])  # keep the end, where the decision is made
        pair = Pair(prompts[0], prompts[1], targets[0], targets[1])
        return Example(pair, rec.prompt_pos, rec.prompt_neg, rec.target_pos, rec.target_neg)


def load_task_file(spec: str) -> FileTask:
    """Open and check a task file; UserError with the line number for anything wrong in it."""
    path = Path(spec).expanduser()
    if not path.is_file():
        raise UserError(
            f"task file {path} does not exist; give a built-in task name (`sparsecircuits tasks list`) "
            "or the path of a .jsonl file of prompt pairs."
        )
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(
            f"cannot read task file {path} ({e.strerror}); check its permissions."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise UserError(f"{path} line {line} is not UTF-8 text; save the file as UTF-8.") from None
    header: dict[str, str] = {}
    records: list[FileRecord] = []
    first_line: dict[tuple[str, str, str, str], int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(
                f"{path} line {lineno} is not valid JSON ({e.msg}); fix that line."
            ) from None
        if not isinstance(obj, dict):
            raise UserError(
                f"{path} line {lineno} is not a JSON object; write one object per line."
            )
        if "task" in obj and not records and not header:
            header = _header(path, lineno, obj["task"])
            continue
        rec = _record(path, lineno, obj)
        key = (rec.prompt_pos, rec.prompt_neg, rec.target_pos, rec.target_neg)
        if key in first_line:
            raise UserError(
                f"{path} line {lineno} repeats the pair of line {first_line[key]}; remove one of them."
            )
        first_line[key] = lineno
        records.append(rec)
    if not records:
        raise UserError(
            f"task file {path} holds no pairs; add lines like "
            '{"prompt_pos": "...", "prompt_neg": "...", "target_pos": "...", "target_neg": "..."}.'
        )
    return FileTask(
        name=header.get("name") or path.stem,
        description=header.get("description") or f"prompt pairs from {path.name}",
        class_pos=header.get("class_pos") or "A (target_pos)",
        class_neg=header.get("class_neg") or "B (target_neg)",
        records=records,
        source=TaskSource(path.resolve(), hashlib.sha256(raw).hexdigest()),
    )


def _header(path: Path, lineno: int, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UserError(
            f"{path} line {lineno}: `task` must be an object with {', '.join(HEADER_FIELDS)}; fix that line."
        )
    unknown = sorted(set(value) - set(HEADER_FIELDS))
    if unknown:
        raise UserError(
            f"{path} line {lineno}: unknown task field(s) {', '.join(unknown)}; use {', '.join(HEADER_FIELDS)}."
        )
    bad = [k for k, v in value.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise UserError(f"{path} line {lineno}: task field {bad[0]} must be non-empty text.")
    return dict(value)


def _record(path: Path, lineno: int, obj: dict[str, object]) -> FileRecord:
    missing = [k for k in FIELDS if k not in obj]
    if missing:
        raise UserError(
            f"{path} line {lineno} lacks {', '.join(missing)}; every line needs {', '.join(FIELDS)}."
        )
    unknown = sorted(set(obj) - {*FIELDS, "split"})
    if unknown:
        raise UserError(
            f"{path} line {lineno} has unknown field(s) {', '.join(unknown)}; use {', '.join(FIELDS)} and split."
        )
    values = {}
    for k in FIELDS:
        v = obj[k]
        if not isinstance(v, str) or not v:
            raise UserError(f"{path} line {lineno}: {k} must be non-empty text, not {v!r}.")
        values[k] = v
    split = obj.get("split")
    if split is not None and split not in SPLITS:
        raise UserError(f'{path} line {lineno}: split is {split!r}; use "train" or "heldout".')
    return FileRecord(lineno, split=split if isinstance(split, str) else None, **values)


def export_lines(
    task: TaskLike, tokenizer: TokenizerLike, n: int, seed: int, max_len: int
) -> list[str]:
    """A task file for `n` pairs of `task` (a quarter of them held out), header first."""
    header = {
        "task": {
            "name": task.name,
            "description": task.description,
            "class_pos": task.class_pos,
            "class_neg": task.class_neg,
        }
    }
    lines = [json.dumps(header)]
    n_heldout = n // 4
    for split, count in (("train", n - n_heldout), ("heldout", n_heldout)):
        for e in task.examples(tokenizer, count, split=split, seed=seed, max_len=max_len):
            lines.append(json.dumps({**pair_texts(tokenizer, e.pair), "split": split}))
    return lines


def pair_texts(tokenizer: TokenizerLike, pair: Pair) -> dict[str, str]:
    """A pair as the text of a task-file line: the prompts as the model sees them, the target tokens."""
    return {
        "prompt_pos": tokenizer.decode(pair.prompt_pos),
        "prompt_neg": tokenizer.decode(pair.prompt_neg),
        "target_pos": tokenizer.token_text(pair.target_pos),
        "target_neg": tokenizer.token_text(pair.target_neg),
    }
