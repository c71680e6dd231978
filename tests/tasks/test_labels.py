"""Labels re-derived from the prompt text by rules independent of the generators; prompts are Python."""

from __future__ import annotations

import io
import re
import tokenize

import pytest

from sparsecircuits.tasks import get_task, task_names
from sparsecircuits.tasks.base import PROMPT_LEN, Pair

N_LABEL = 200
N_CROP = 200
# both prompts of these tasks are of one class; the target rule alone tells them apart
SAME_CLASS = ("class_init", "var_swap")


def last_line(text: str) -> str:
    return text.rstrip("\n").split("\n")[-1]


def head(text: str) -> str:
    """Everything before the last non-empty line."""
    t = text.rstrip("\n")
    return t[: t.rfind("\n") + 1]


def open_brackets(text: str) -> list[str]:
    """Brackets still open at the end of `text`, found with Python's own tokenizer."""
    stack: list[str] = []
    # indentation does not matter to brackets, and a prompt cropped to its last tokens may begin
    # inside an indented block, which the tokenizer would refuse
    flat = "\n".join(line.lstrip() for line in text.split("\n"))
    for q in ('"""', "'''"):
        if flat.count(q) % 2:  # the crop began inside a docstring: read after its end
            flat = flat[flat.rfind(q) + 3 :]
    try:
        for tok in tokenize.generate_tokens(io.StringIO(flat).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                stack.append(tok.string)
            elif tok.type == tokenize.OP and tok.string in ")]}" and stack:
                stack.pop()  # (an empty stack: the crop removed the opener of a closed pair)
    except tokenize.TokenError:
        pass  # EOF inside the open brackets, as expected
    return stack


def open_quote(line: str) -> str | None:
    """The quote character of the string left open at the end of `line`."""
    quote = None
    for ch in line:
        if quote is None and ch in "\"'":
            quote = ch
        elif ch == quote:
            quote = None
    return quote


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


# ---- per-task rules: is_pos(text), target_ok(text, target_text, is_pos), same(pos, neg) --------


def _set_var_init(text: str) -> str:
    var = last_line(text).strip()
    inits = re.findall(rf"^\s*{re.escape(var)} = (.*)$", text, flags=re.M)
    return inits[-1]


def _erase_set_init(text: str) -> str:
    var = last_line(text).strip()
    return re.sub(rf"^(\s*{re.escape(var)}) = (set\(\)|\"\"|'')$", r"\1 = V", text, flags=re.M)


def _with_open_stem(text: str) -> str:
    return re.search(r"open\(([\w.]+),", last_line(text)).group(1).split(".")[-1]


def _swap(line: str) -> str | None:
    m = re.fullmatch(r"(\s*)(\w+), (\w+) = (\w+),", line)
    if not m or m.group(4) != m.group(3):
        return None
    return f"{m.group(1)}{m.group(3)}, {m.group(2)} = {m.group(2)},"


def _class_init_ok(text: str, target: str, is_pos: bool) -> bool:
    attr = re.fullmatch(r"\s+self\.(\w+) =", last_line(text)).group(1)
    text = text[text.rfind("def __init__(") :]  # the preamble may hold other classes
    sig = re.search(r"def __init__\(self, ([^)]*)\):", text).group(1)
    params = [p.split("=")[0] for p in sig.split(", ")]
    done = re.findall(r"self\.(\w+) = \1$", text, flags=re.M)
    first_open = next(p for p in params if p not in done)
    return target == " " + attr and attr in params and (attr == first_open) == is_pos


def _relast(pattern: str, repl: str):
    """same(pos, neg): neg equals pos with `pattern` replaced in its last line."""

    def same(pos: str, neg: str) -> bool:
        return head(pos) == head(neg) and re.sub(pattern, repl, last_line(pos)) == last_line(neg)

    return same


RULES = {
    "single_double_quote": (
        lambda t: open_quote(last_line(t)) == '"',
        lambda t, tt, p: tt.startswith(open_quote(last_line(t))),
        lambda a, b: a[: a.rfind('"')] + "'" + a[a.rfind('"') + 1 :] == b,
    ),
    "final_kwarg": (
        lambda t: (
            "=" in ", ".join(re.search(r"def \w+\((.*)$", last_line(t)).group(1).split(", ")[:-1])
        ),
        lambda t, tt, p: tt.startswith("=") if p else tt.startswith(")"),
        _relast(r"=[^,]*(?=, )", ""),
    ),
    "set_or_string": (
        lambda t: _set_var_init(t) == "set()",
        lambda t, tt, p: tt.startswith(".") if p else tt.startswith(" +"),
        lambda a, b: _erase_set_init(a) == _erase_set_init(b),
    ),
    "set_or_string_fixedvarname": (
        lambda t: last_line(t).strip() == "current" and _set_var_init(t) == "set()",
        lambda t, tt, p: tt.startswith(".") if p else tt.startswith(" +"),
        lambda a, b: _erase_set_init(a) == _erase_set_init(b),
    ),
    "class_init": (
        lambda t: True,  # both classes copy a parameter; which one is checked by target_ok
        _class_init_ok,
        lambda a, b: (
            head(a) == head(b) and re.fullmatch(r"\s+self\.\w+ =", last_line(b)) is not None
        ),
    ),
    "with_as": (
        lambda t: last_line(t).lstrip().startswith("with "),
        lambda t, tt, p: ("\n" not in tt and (tt in (" as", ")"))) if p else tt.endswith("\n"),
        lambda a, b: (
            head(a) == head(b)
            and re.sub(r"^(\s*)(with |\w+ = )", r"\1", last_line(a))
            == re.sub(r"^(\s*)(with |\w+ = )", r"\1", last_line(b))
            and not last_line(b).lstrip().startswith("with")
        ),
    ),
    "bracket_brace": (
        lambda t: open_brackets(t)[-1] == "{",
        lambda t, tt, p: tt == (":" if p else ","),
        lambda a, b: a[: a.rfind("{")] + "[" + a[a.rfind("{") + 1 :] == b,
    ),
    "with_open": (
        lambda t: (
            re.match(r"(output|out|dest|destination|save|write|export)_", _with_open_stem(t))
            is not None
        ),
        lambda t, tt, p: tt == ("w" if p else "r"),
        lambda a, b: (
            head(a) == head(b)
            and re.sub(r"open\([\w.]+", "", last_line(a))
            == re.sub(r"open\([\w.]+", "", last_line(b))
        ),
    ),
    "bracket_counting": (
        lambda t: open_brackets(t).count("[") == 2,
        lambda t, tt, p: (
            tt.startswith("]]") or tt == "]"
            if p
            else tt.startswith("]") and not tt.startswith("]]")
        ),
        lambda a, b: a[: a.rfind("[")] + a[a.rfind("[") + 1 :] == b,
    ),
    "for_while": (
        lambda t: last_line(t).lstrip().startswith("for "),
        lambda t, tt, p: tt == " in" if p else tt.startswith(":"),
        _relast(r"^(\s*)for ", r"\1while "),
    ),
    "else_elif": (
        lambda t: last_line(t).strip() == "else",
        lambda t, tt, p: (
            tt.startswith(":")
            if p
            else re.search(rf"^\s*if .*\b{tt.strip()}\b", t, re.M) is not None
        ),
        _relast(r"else$", "elif"),
    ),
    "fstring_brace": (
        lambda t: re.search(r"f[\"'][^\"']*\{$", last_line(t)) is not None,
        lambda t, tt, p: tt.isidentifier() if p else tt.startswith(("}", "0")),
        _relast(r"f([\"'][^\"']*)$", r"\1"),
    ),
    "if_ternary": (
        lambda t: last_line(t).lstrip().startswith("if "),
        lambda t, tt, p: tt.startswith(":") if p else tt == " else",
        lambda a, b: head(a) == head(b) and last_line(b).endswith(last_line(a).lstrip()),
    ),
    "var_swap": (
        lambda t: True,  # both classes are swaps; which name comes next is checked by target_ok
        lambda t, tt, p: (
            _swap(last_line(t)) is not None and tt == " " + last_line(t).split(",")[0].strip()
        ),
        lambda a, b: head(a) == head(b) and _swap(last_line(a)) == last_line(b),
    ),
    "indent_for": (
        lambda t: last_line(t).rstrip().endswith(":"),
        None,  # checked on the pair: the positive's indentation token is the longer one
        lambda a, b: head(a) == head(b),
    ),
    "lambda_func": (
        lambda t: " lambda " in last_line(t),
        lambda t, tt, p: tt == ":" if p else tt.startswith("("),
        _relast(r"\w+ = lambda ", "def "),
    ),
    "if_equals": (
        lambda t: re.match(r"\s*(if|elif|while) ", last_line(t)) is not None,
        lambda t, tt, p: tt == (" ==" if p else " ="),
        _relast(r"^(\s*)(if|elif|while) ", r"\1"),
    ),
    "enumerate_range": (
        lambda t: re.search(r"for \w+, \w+ in$", last_line(t)) is not None,
        lambda t, tt, p: len(tt) > 1 and (" enumerate" if p else " range").startswith(tt),
        _relast(r", \w+ in$", " in"),
    ),
    "var_if": (
        lambda t: re.match(r"\s*(if|elif|while) \w+ == (True|False)$", last_line(t)) is not None,
        lambda t, tt, p: tt.startswith(":") if p else tt == "\n",
        _relast(r"^(\s*)(if|elif|while) (\w+) == ", r"\1\3 = "),
    ),
    "while_return_true": (
        lambda t: last_line(t).strip() == "while True",
        lambda t, tt, p: tt.startswith(":") if p else tt == "\n",
        _relast(r"while True$", "return True"),
    ),
}


def decidable(name: str, tokenizer, pair: Pair) -> bool:
    """Whether the label follows from each (possibly cropped) prompt's decoded text alone.

    Minimality is not asked: two prompts of different lengths crop at different starts.
    """
    is_pos, target_ok, _ = RULES[name]
    pos, neg = tokenizer.decode(pair.prompt_pos), tokenizer.decode(pair.prompt_neg)
    tpos, tneg = tokenizer.token_text(pair.target_pos), tokenizer.token_text(pair.target_neg)
    try:
        return bool(
            (name in SAME_CLASS or (is_pos(pos) and not is_pos(neg)))
            and (target_ok is None or (target_ok(pos, tpos, True) and target_ok(neg, tneg, False)))
        )
    except (AttributeError, IndexError, StopIteration, ValueError, SyntaxError):
        return False  # a rule could not find what it reads: the crop removed it


def test_every_task_has_a_rule():
    assert sorted(RULES) == sorted(task_names())


@pytest.fixture(scope="module")
def labelled(tokenizer):
    """N_LABEL held-in examples per task at the default context length."""
    return {n: get_task(n).examples(tokenizer, N_LABEL, "train", seed=1) for n in task_names()}


@pytest.mark.parametrize("name", task_names())
def test_labels_follow_from_the_prompt_text(name, tokenizer, labelled):
    is_pos, target_ok, same = RULES[name]
    for e in labelled[name]:
        p = e.pair
        pos, neg = tokenizer.decode(p.prompt_pos), tokenizer.decode(p.prompt_neg)
        assert (pos, neg) == (e.text_pos, e.text_neg)  # nothing truncated at 256 tokens
        if name not in ("class_init", "var_swap"):
            assert is_pos(pos) and not is_pos(neg), (pos[-80:], neg[-80:])
        tpos, tneg = tokenizer.token_text(p.target_pos), tokenizer.token_text(p.target_neg)
        if target_ok is None:  # indent_for
            ws = [len(t.replace("\n", "")) for t in (tpos, tneg)]
            assert tpos.strip() == tneg.strip() == "" and ws[0] > ws[1], (tpos, tneg)
        else:
            assert target_ok(pos, tpos, True), (pos[-80:], tpos)
            assert target_ok(neg, tneg, False), (neg[-80:], tneg)
        assert same(pos, neg), (pos[-80:], neg[-80:])


@pytest.mark.parametrize("name", task_names())
def test_prompt_plus_continuation_is_python(name, labelled):
    for e in labelled[name]:
        for text, cont in ((e.text_pos, e.cont_pos), (e.text_neg, e.cont_neg)):
            compile(text + cont, name, "exec")


@pytest.mark.parametrize("name", task_names())
def test_prompt_ends_at_the_target_token(name, tokenizer, labelled):
    """The target is what the tokenizer makes of prompt + continuation, right after the prompt."""
    for e in labelled[name][:50]:
        p = e.pair
        for ids, text, cont, target in (
            (p.prompt_pos, e.text_pos, e.cont_pos, p.target_pos),
            (p.prompt_neg, e.text_neg, e.cont_neg, p.target_neg),
        ):
            full = tokenizer.encode(text + cont)
            assert full[: len(ids) + 1] == ids + [target]
            assert tokenizer.single_token(tokenizer.token_text(target)) == target


@pytest.mark.parametrize("name", task_names())
def test_the_crop_keeps_the_deciding_context(name, tokenizer):
    """At pruning's prompt length (the last 32 tokens) the label still follows from the prompts."""
    pairs = get_task(name).pairs(tokenizer, N_CROP, "heldout", seed=0, max_len=PROMPT_LEN)
    assert any(len(p.prompt_pos) == PROMPT_LEN for p in pairs)  # the crop is exercised
    undecidable = [
        tokenizer.decode(p.prompt_pos) for p in pairs if not decidable(name, tokenizer, p)
    ]
    assert not undecidable, undecidable[:3]
