"""A task cut from real code: string-closing pairs taken from Python files no generator wrote.

Each pair is a single-quoted and a double-quoted string literal found by Python's own tokenizer
in the given files, each cut just before its closing quote (with the code before it as context).
The targets are the closing quote's token as the model's tokenizer splits the real text (`'`,
`')`, `',` ...); a pair's two literals close the same way apart from the quote character, so the
only difference the model can use is which quote opened the string.
"""

from __future__ import annotations

import io
import json
import random
import tokenize
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from sparsecircuits.errors import UserError
from sparsecircuits.tasks.base import TokenizerLike

HEADER = {
    "name": "real_quotes",
    "description": "Close a string literal with the quote that opened it, in real code "
    "(literals cut from Python files, not generated).",
    "class_pos": "string opened with '",
    "class_neg": 'string opened with "',
}
MAX_LITERAL = 60  # longer literals would push the opening quote out of a 32-token prompt
CONTINUATION_CHARS = 8  # how much of the line after the closing quote the tokenizer sees


def _literal_cuts(text: str, context_chars: int) -> Iterable[tuple[str, str, str]]:
    """(quote, prompt, continuation) for every one-line plain string literal of a file."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            s = t.string
            if (
                t.type != tokenize.STRING
                or t.start[0] != t.end[0]
                or not 3 <= len(s) <= MAX_LITERAL
            ):
                continue
            if s[0] not in "'\"" or s[:3] in ("'''", '"""') or "\\" in s:
                continue  # prefixed (f, r, b), triple-quoted or escaped: not a plain literal
            close = starts[t.end[0] - 1] + t.end[1] - 1  # offset of the closing quote
            line_end = text.find("\n", close)
            line_end = len(text) if line_end < 0 else line_end
            prompt = text[max(0, close - context_chars) : close]
            yield s[0], prompt, text[close : min(line_end, close + CONTINUATION_CHARS)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return  # a file Python cannot tokenize: its literals before the error are kept


def quote_task_lines(
    files: Iterable[Path],
    tokenizer: TokenizerLike,
    n: int,
    seed: int = 0,
    context_chars: int = 300,
) -> list[str]:
    """A task file (header first) of up to `n` real string-closing pairs from `files`."""
    found: dict[str, dict[str, list[tuple[str, str]]]] = {
        "'": defaultdict(list),
        '"': defaultdict(list),
    }
    seen: set[str] = set()
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for quote, prompt, cont in _literal_cuts(text, context_chars):
            if prompt in seen or not prompt.strip():
                continue
            ids = tokenizer.encode(prompt)
            full = tokenizer.encode(prompt + cont)
            if not ids or full[: len(ids)] != ids or len(full) <= len(ids):
                continue  # the prompt's last token would merge with the quote
            target = tokenizer.token_text(full[len(ids)])
            if not target.startswith(quote) or tokenizer.single_token(target) != full[len(ids)]:
                continue
            seen.add(prompt)
            found[quote][target[1:]].append((prompt, target))  # grouped by how the string closes
    rng = random.Random(seed)
    pairs = []
    for rest in sorted(set(found["'"]) & set(found['"'])):
        singles, doubles = found["'"][rest], found['"'][rest]
        rng.shuffle(singles)
        rng.shuffle(doubles)
        pairs += list(zip(singles, doubles, strict=False))
    if not pairs:
        raise UserError(
            "found no string literals to cut pairs from; give folders or files of Python code with "
            "both '...' and \"...\" strings."
        )
    rng.shuffle(pairs)
    lines = [json.dumps({"task": HEADER})]
    for (p_pos, t_pos), (p_neg, t_neg) in pairs[:n]:
        rec = {"prompt_pos": p_pos, "prompt_neg": p_neg, "target_pos": t_pos, "target_neg": t_neg}
        lines.append(json.dumps(rec))
    return lines


def python_files(sources: Iterable[str]) -> list[Path]:
    """The .py files of the given files and folders, sorted; UserError for a missing one."""
    out: list[Path] = []
    for spec in sources:
        p = Path(spec).expanduser()
        if p.is_dir():
            out += sorted(p.rglob("*.py"))
        elif p.is_file():
            out.append(p)
        else:
            raise UserError(f"{spec} does not exist; give Python files or folders of them.")
    return out
