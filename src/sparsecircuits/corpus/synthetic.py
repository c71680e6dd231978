"""A simple-Python source: short programs generated from a grammar of common idioms.

Small models learn fast from a simple, repetitive distribution (the paper's pretraining mix had a
10B-token component of simple Python idioms beside 25B tokens of real code). Each document is a
few top-level functions, classes and statements built from: functions with arguments and
returns, for and while loops, if/elif/else, conditional expressions, lists, dicts, sets, tuples,
strings in either quote style, f-strings, classes with `__init__` and methods, `with` blocks,
comprehensions, lambdas, try/except and nested calls and subscripts.

Identifiers and literals come from real code: the names, attributes, arguments, classes and short
string constants most used in this interpreter's standard library (outside its tests), read with
`ast`. Nothing here reads the task generators of `sparsecircuits.tasks` (a test checks the import
graph); how often a task's prompts still occur verbatim in a corpus is measured by
`sparsecircuits.tasks.contamination`.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from sparsecircuits.corpus.sources import stdlib_path

# at least this many stdlib modules are read for the lexicon (every n-th by path; ~3 s)
LEXICON_FILES = 400
LEXICON_SIZE = 400  # most frequent entries kept per kind
_NOT_NAMES = frozenset({"self", "cls", *dir(builtins)})  # a variable named `len` teaches nothing
_BUILTIN_CALLS = ("len", "str", "int", "sorted", "list", "sum", "max", "min", "abs", "print")


@dataclass(frozen=True)
class Lexicon:
    """Words to build programs from, most frequent first."""

    names: tuple[str, ...]  # variables and arguments
    functions: tuple[str, ...]
    classes: tuple[str, ...]
    attributes: tuple[str, ...]
    strings: tuple[str, ...]


def _plain(word: str, max_len: int = 14) -> bool:
    return (
        word.isidentifier()
        and word.isascii()
        and not keyword.iskeyword(word)
        and not word.startswith("_")
        and 1 <= len(word) <= max_len
    )


@cache
def stdlib_lexicon() -> Lexicon:
    """The lexicon of this interpreter's standard library (deterministic for one installation)."""
    root = stdlib_path()
    files = sorted(
        p
        for p in root.rglob("*.py")
        if not ({"test", "tests", "idle_test", "site-packages"} & set(p.relative_to(root).parts))
    )
    files = files[:: max(1, len(files) // LEXICON_FILES)]  # spread over the whole library
    counts: dict[str, Counter] = {k: Counter() for k in Lexicon.__dataclass_fields__}
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id.islower():
                counts["names"][node.id] += 1
            elif isinstance(node, ast.arg):
                counts["names"][node.arg] += 1
            elif isinstance(node, ast.FunctionDef) and node.name.islower():
                counts["functions"][node.name] += 1
            elif isinstance(node, ast.ClassDef) and node.name[:1].isupper():
                counts["classes"][node.name] += 1
            elif isinstance(node, ast.Attribute) and node.attr.islower():
                counts["attributes"][node.attr] += 1
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if 1 <= len(text) <= 12 and text.replace(" ", "").replace("_", "").isalnum():
                    counts["strings"][text] += 1
    return Lexicon(
        **{
            kind: tuple(
                w
                for w, _ in c.most_common()
                if kind == "strings" or (_plain(w) and w not in _NOT_NAMES)
            )[:LEXICON_SIZE]
            for kind, c in counts.items()
        }
    )


class _Writer:
    """Builds one program; `rng` decides everything, so a seed fixes the document."""

    def __init__(self, rng: random.Random, lex: Lexicon) -> None:
        self.rng, self.lex = rng, lex
        self.quote = rng.choice(("'", '"'))
        self.lines: list[str] = []
        # a program reuses a handful of names, as real ones do
        self.names = [self.pick(lex.names) for _ in range(rng.randint(4, 10))]

    # -- words --------------------------------------------------------------------------------
    def pick(self, words: tuple[str, ...]) -> str:
        # skewed towards the frequent words, with the whole list in reach
        return words[int(len(words) * self.rng.random() ** 3)]

    def name(self, avoid: tuple[str, ...] = ()) -> str:
        for _ in range(8):
            word = (
                self.rng.choice(self.names)
                if self.rng.random() < 0.8
                else self.pick(self.lex.names)
            )
            if word not in avoid and word not in _BUILTIN_CALLS:
                return word
        return "value"

    def string(self) -> str:
        text = self.pick(self.lex.strings)
        return f"{self.quote}{text}{self.quote}"

    def number(self) -> str:
        return str(self.rng.choice((0, 1, 2, 3, 4, 5, 8, 10, 16, 32, 100, -1)))

    # -- expressions --------------------------------------------------------------------------
    def atom(self, scope: list[str]) -> str:
        r = self.rng.random()
        if scope and r < 0.45:
            return self.rng.choice(scope)
        if r < 0.65:
            return self.number()
        if r < 0.85:
            return self.string()
        return self.rng.choice(("None", "True", "False", "[]", "{}"))

    def expr(self, scope: list[str], depth: int = 0) -> str:
        r = self.rng.random()
        if depth >= 2 or r < 0.35:
            return self.atom(scope)
        if r < 0.45 and scope:
            return f"{self.rng.choice(scope)}.{self.pick(self.lex.attributes)}"
        if r < 0.55:
            op = self.rng.choice(("+", "-", "*", "//", "%"))
            return f"{self.atom(scope)} {op} {self.atom(scope)}"
        if r < 0.65:
            fn = (
                self.rng.choice(_BUILTIN_CALLS[:7])
                if self.rng.random() < 0.5
                else self.pick(self.lex.functions)
            )
            args = ", ".join(self.expr(scope, depth + 1) for _ in range(self.rng.randint(0, 2)))
            return f"{fn}({args})"
        if r < 0.72:
            items = ", ".join(self.atom(scope) for _ in range(self.rng.randint(0, 4)))
            return f"[{items}]"
        if r < 0.78:
            items = ", ".join(
                f"{self.string()}: {self.atom(scope)}" for _ in range(self.rng.randint(1, 3))
            )
            return "{" + items + "}"
        if r < 0.82:
            items = ", ".join(self.atom(scope) for _ in range(self.rng.randint(1, 3)))
            return "{" + items + "}"  # a set literal
        if r < 0.86 and scope:
            var = self.rng.choice(scope)
            key = self.atom(scope) if self.rng.random() < 0.5 else self.number()
            return f"{var}[{key}]"
        if r < 0.9 and scope:
            inner = ", ".join(
                "{" + self.rng.choice(scope) + "}" for _ in range(self.rng.randint(1, 2))
            )
            words = self.pick(self.lex.strings)
            return f"f{self.quote}{words} {inner}{self.quote}"
        if r < 0.94 and scope:
            item = self.name()
            seq = self.rng.choice(scope)
            body = self.rng.choice(
                (item, f"{item} * 2", f"str({item})", f"{item}.{self.pick(self.lex.attributes)}")
            )
            cond = f" if {item}" if self.rng.random() < 0.4 else ""
            open_, close = self.rng.choice((("[", "]"), ("{", "}")))
            return f"{open_}{body} for {item} in {seq}{cond}{close}"
        if r < 0.97:
            arg = self.name()
            return f"lambda {arg}: {arg} {self.rng.choice(('+', '*', '-'))} {self.number()}"
        if scope:
            return f"{self.atom(scope)} if {self.rng.choice(scope)} else {self.atom(scope)}"
        return self.atom(scope)

    def condition(self, scope: list[str]) -> str:
        left = self.rng.choice(scope) if scope else self.name()
        r = self.rng.random()
        if r < 0.3:
            return left
        if r < 0.45:
            return f"not {left}"
        if r < 0.6:
            return f"{left} is None"
        if r < 0.75:
            return f"{left} in {self.rng.choice(scope) if scope else self.string()}"
        op = self.rng.choice(("==", "!=", "<", ">", "<=", ">="))
        return f"{left} {op} {self.atom(scope)}"

    # -- statements ---------------------------------------------------------------------------
    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def block(self, indent: int, scope: list[str], depth: int, n: int | None = None) -> None:
        for _ in range(n or self.rng.randint(1, 3)):
            self.statement(indent, scope, depth)

    def statement(self, indent: int, scope: list[str], depth: int) -> None:
        r = self.rng.random()
        if depth >= 2 or r < 0.3:
            var = self.name()
            self.emit(indent, f"{var} = {self.expr(scope)}")
            scope.append(var)
        elif r < 0.38 and scope:
            op = self.rng.choice(("+=", "-=", "*="))
            self.emit(indent, f"{self.rng.choice(scope)} {op} {self.atom(scope)}")
        elif r < 0.46:
            fn = self.rng.choice(("print", self.pick(self.lex.functions)))
            self.emit(indent, f"{fn}({self.expr(scope, 1)})")
        elif r < 0.6:
            self.emit(indent, f"if {self.condition(scope)}:")
            self.block(indent + 1, list(scope), depth + 1)
            if self.rng.random() < 0.3:
                self.emit(indent, f"elif {self.condition(scope)}:")
                self.block(indent + 1, list(scope), depth + 1)
            if self.rng.random() < 0.4:
                self.emit(indent, "else:")
                self.block(indent + 1, list(scope), depth + 1)
        elif r < 0.74:
            item = self.name()
            seq = self.rng.choice(
                (
                    f"range({self.number()})",
                    f"range(len({self.rng.choice(scope)}))" if scope else "range(10)",
                    self.rng.choice(scope) if scope else f"[{self.number()}, {self.number()}]",
                    f"enumerate({self.rng.choice(scope)})" if scope else "range(3)",
                    f"{self.rng.choice(scope)}.items()" if scope else "range(2)",
                )
            )
            target = f"i, {item}" if seq.startswith("enumerate") else item
            if seq.endswith(".items()"):
                target = f"key, {item}"
            self.emit(indent, f"for {target} in {seq}:")
            self.block(indent + 1, [*scope, item], depth + 1)
        elif r < 0.8:
            self.emit(indent, f"while {self.condition(scope)}:")
            self.block(indent + 1, list(scope), depth + 1)
            if self.rng.random() < 0.5:
                self.emit(indent + 1, "break")
        elif r < 0.86:
            handle = self.rng.choice(("f", "fh", "fp", "stream"))
            mode = self.rng.choice(("r", "w", "rb"))
            path = self.rng.choice(scope) if scope else self.string()
            self.emit(indent, f"with open({path}, {self.quote}{mode}{self.quote}) as {handle}:")
            self.block(indent + 1, [*scope, handle], depth + 1)
        elif r < 0.92:
            self.emit(indent, "try:")
            self.block(indent + 1, list(scope), depth + 1)
            exc = self.rng.choice(("ValueError", "KeyError", "TypeError", "OSError", "Exception"))
            self.emit(indent, f"except {exc}:")
            self.block(indent + 1, list(scope), depth + 1, 1)
        else:
            var = self.name()
            self.emit(indent, f"{var} = {self.expr(scope)}")
            scope.append(var)

    def function(self, indent: int, method: bool = False) -> None:
        params = []
        for _ in range(self.rng.randint(0, 3)):
            p = self.name(tuple(params))
            params.append(p)
        shown = list(params)
        if shown and self.rng.random() < 0.3:
            shown[-1] += f"={self.atom([])}"
        head = ["self", *shown] if method else shown
        self.emit(indent, f"def {self.pick(self.lex.functions)}({', '.join(head)}):")
        scope = [*params, *(["self"] if method else [])]
        self.block(indent + 1, scope, 0, self.rng.randint(1, 4))
        if self.rng.random() < 0.75:
            self.emit(indent + 1, f"return {self.expr(scope)}")

    def klass(self) -> None:
        base = f"({self.pick(self.lex.classes)})" if self.rng.random() < 0.3 else ""
        self.emit(0, f"class {self.pick(self.lex.classes)}{base}:")
        fields = []
        for _ in range(self.rng.randint(1, 3)):
            f = self.name(tuple(fields))
            fields.append(f)
        self.emit(1, f"def __init__(self, {', '.join(fields)}):")
        for f in fields:
            self.emit(2, f"self.{f} = {f}")
        for _ in range(self.rng.randint(0, 2)):
            self.lines.append("")
            self.function(1, method=True)

    def program(self) -> str:
        for i in range(self.rng.randint(2, 6)):
            if i:
                self.lines.append("")
            r = self.rng.random()
            if r < 0.45:
                self.function(0)
            elif r < 0.7:
                self.klass()
            else:
                self.block(0, [], 0, self.rng.randint(1, 4))
        return "\n".join(self.lines) + "\n"


def documents(seed: int, lexicon: Lexicon | None = None) -> Iterator[str]:
    """An endless stream of programs; the i-th depends only on (seed, i)."""
    lex = lexicon or stdlib_lexicon()
    i = 0
    while True:
        yield _Writer(random.Random(f"synthetic:{seed}:{i}"), lex).program()
        i += 1
