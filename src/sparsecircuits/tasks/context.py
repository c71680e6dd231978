"""Realistic Python around a task's decisive point: filler statements, enclosing blocks, preambles."""

from __future__ import annotations

import random

from sparsecircuits.tasks.pools import (
    FROM_IMPORTS,
    MODULES,
    NOUNS,
    class_name,
    distinct,
    func_name,
    identifier,
    number,
    pick,
    sentence,
    simple_literal,
)

IND = "    "
LOG_LEVELS = ["debug", "info", "warning", "error"]
METHODS = ["strip", "lower", "upper", "copy", "keys", "values", "items", "split", "pop", "clear"]
BUILTINS = ["len", "sorted", "list", "sum", "max", "min", "str", "int", "abs", "tuple", "set"]


def _name(rng: random.Random, avoid: set[str]) -> str:
    return distinct(rng, identifier, 1, avoid)[0]


def statement(rng: random.Random, avoid: set[str] = frozenset()) -> list[str]:
    """A simple statement (sometimes a small block) as lines relative to the current indentation."""
    a, b, c = distinct(rng, identifier, 3, set(avoid))
    r = rng.randrange(20)
    if r == 0:
        return [f"{a} = {b} + {number(rng)}"]
    if r == 1:
        return [f"{a} = {func_name(rng)}({b})"]
    if r == 2:
        return [f"{a} = {b}.{pick(rng, METHODS)}()"]
    if r == 3:
        return [f"{a}.append({b})"]
    if r == 4:
        return [f"{a} += {number(rng)}"]
    if r == 5:
        return [f"{a} = [{c} for {c} in {b}]"]
    if r == 6:
        return [f"{a} = {pick(rng, BUILTINS)}({b})"]
    if r == 7:
        return [f"{a} = {b}[{rng.randint(0, 9)}]"]
    if r == 8:
        return [f'{a} = {b}.get("{pick(rng, NOUNS)}", {simple_literal(rng)})']
    if r == 9:
        return [f'logger.{pick(rng, LOG_LEVELS)}("{sentence(rng, 2, 6)}")']
    if r == 10:
        return [f"print({a})"]
    if r == 11:
        return [f"{a} = {simple_literal(rng)}"]
    if r == 12:
        return [f"if {a} is None:", f"{IND}{a} = {simple_literal(rng)}"]
    if r == 13:
        return [f"assert {a} is not None"]
    if r == 14:  # a comment never stands alone: a block of only a comment is a syntax error
        return [f"# {sentence(rng, 2, 8)}", f"{a} = {b}"]
    if r == 15:
        return [f"{a} = {b} * {c}"]
    if r == 16:
        return [f"{a}[{b}] = {c}"]
    if r == 17:
        return [f"for {c} in {b}:", f"{IND}{a}.append({c})"]
    if r == 18:
        return [f"{a} = {func_name(rng)}({b}, {c})"]
    return [f"{a}, {b} = {c}"]


def simple_statement(rng: random.Random, avoid: set[str] = frozenset()) -> str:
    """A one-line statement that opens no block and is no comment."""
    while True:
        lines = statement(rng, avoid)
        if len(lines) == 1 and not lines[0].startswith("#"):
            return lines[0]


def statements(rng: random.Random, lo: int, hi: int, avoid: set[str] = frozenset()) -> list[str]:
    """Between `lo` and `hi` filler statements, flattened to lines."""
    out: list[str] = []
    for _ in range(rng.randint(lo, hi)):
        out.extend(statement(rng, avoid))
    return out


def indent(lines: list[str], depth: int = 1) -> list[str]:
    """Lines shifted right by `depth` levels (blank lines stay blank)."""
    return [(IND * depth + ln) if ln else ln for ln in lines]


def params(
    rng: random.Random, lo: int = 0, hi: int = 3, avoid: set[str] = frozenset()
) -> list[str]:
    """Distinct parameter names."""
    return distinct(rng, identifier, rng.randint(lo, hi), set(avoid))


def docstring(rng: random.Random) -> str:
    """A one-line docstring."""
    return f'"""{sentence(rng, 2, 7).capitalize()}."""'


def enclose(
    rng: random.Random,
    core: list[str],
    kinds: tuple[str, ...] = ("def", "method", "for", "if"),
    max_depth: int = 2,
    avoid: set[str] = frozenset(),
    need_func: bool = False,
) -> list[str]:
    """Wrap `core` (lines at depth 0) in up to `max_depth` enclosing blocks with filler before it.

    With `need_func` some enclosing block is a function (so `return` is legal in `core`).
    """
    depth = rng.choice([0, 1, 1, 2][: max_depth + 2]) if max_depth else 0
    depth = min(depth, max_depth)
    lines = list(core)
    in_func = False
    for level in range(depth):
        inner = level == 0
        kind = pick(rng, list(kinds))
        if kind == "method" and level != depth - 1:
            kind = "def"  # a class can only be the outermost wrapper here
        if need_func and not in_func and level == depth - 1 and kind not in ("def", "method"):
            kind = "def"
        in_func = in_func or kind in ("def", "method")
        before = statements(rng, 0, 2 if inner else 1, avoid)
        if kind == "def":
            head = [f"def {func_name(rng)}({', '.join(params(rng, 0, 3, set(avoid)))}):"]
            if rng.random() < 0.4:
                head.append(IND + docstring(rng))
        elif kind == "method":
            ps = ", ".join(["self", *params(rng, 0, 2, set(avoid))])
            head = [f"class {class_name(rng)}:"]
            if rng.random() < 0.3:
                head.append(IND + docstring(rng))
                head.append("")
            head.append(f"{IND}def {func_name(rng)}({ps}):")
            lines = indent(indent(before + lines))
            lines = head + lines
            continue
        elif kind == "for":
            x, xs = distinct(rng, identifier, 2, set(avoid))
            head = [f"for {x} in {xs}:"]
        elif kind == "with":
            head = [f"with {func_name(rng)}({identifier(rng)}) as {identifier(rng)}:"]
        else:
            head = [f"if {identifier(rng)} is not None:"]
        lines = head + indent(before + lines)
    if need_func and not in_func:
        lines = [
            f"def {func_name(rng)}({', '.join(params(rng, 0, 2, set(avoid)))}):",
            *indent(lines),
        ]
    return lines


def filler_block(rng: random.Random) -> str:
    """One complete top-level statement or definition, as text without a trailing newline."""
    r = rng.randrange(10)
    if r == 0:
        return "\n".join(f"import {m}" for m in rng.sample(MODULES, rng.randint(1, 3)))
    if r == 1:
        mod, names = pick(rng, FROM_IMPORTS)  # type: ignore[arg-type]
        return (
            f"from {mod} import {', '.join(rng.sample(names, rng.randint(1, min(3, len(names)))))}"
        )
    if r == 2:
        return f"{identifier(rng).upper()} = {simple_literal(rng)}"
    if r == 3:
        return f"# {sentence(rng, 3, 10)}"
    if r in (4, 5, 6):
        ps = params(rng, 0, 3)
        body = [docstring(rng)] if rng.random() < 0.5 else []
        body += statements(rng, 1, 4, set(ps))
        body.append(f"return {pick(rng, ps) if ps and rng.random() < 0.5 else identifier(rng)}")
        return "\n".join([f"def {func_name(rng)}({', '.join(ps)}):", *indent(body)])
    if r == 7:
        ps = params(rng, 1, 3, {"self"})
        init = [f"self.{p} = {p}" for p in ps]
        meth = statements(rng, 1, 2) + [f"return self.{pick(rng, ps)}"]
        lines = [
            f"class {class_name(rng)}:",
            *indent([f"def __init__(self, {', '.join(ps)}):"]),
            *indent(init, 2),
            "",
            *indent([f"def {func_name(rng)}(self):"]),
            *indent(meth, 2),
        ]
        return "\n".join(lines)
    if r == 8:
        x, xs = distinct(rng, identifier, 2)
        return "\n".join([f"for {x} in {xs}:", *indent(statements(rng, 1, 2))])
    return "\n".join(statements(rng, 1, 3))


def preamble(rng: random.Random, budget_chars: int) -> str:
    """Filler blocks totalling at most about `budget_chars` characters, ending in a blank line."""
    blocks: list[str] = []
    used = 0
    while True:
        b = filler_block(rng)
        if used + len(b) + 2 > budget_chars:
            break
        blocks.append(b)
        used += len(b) + 2
    if not blocks:
        return ""
    return "\n\n".join(blocks) + "\n\n"
