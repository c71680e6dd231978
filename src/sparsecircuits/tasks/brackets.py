"""Tasks about open brackets: dict vs list literal, nesting depth."""

from __future__ import annotations

import random

from sparsecircuits.tasks.base import DECIDES, Draft, GenContext, Task, Variant
from sparsecircuits.tasks.context import IND, enclose, statements
from sparsecircuits.tasks.pools import func_name, identifier, number, pick
from sparsecircuits.tasks.strings import finish, lead


def _element(rng: random.Random) -> str:
    """A list element or dict key that ends in a letter or digit (so no punctuation merges)."""
    r = rng.random()
    if r < 0.45:
        return number(rng).replace("1e-3", "0.001")
    if r < 0.75:
        return identifier(rng)
    return f"{pick(rng, ['self', 'obj', 'cfg', 'args', 'node', 'item'])}.{identifier(rng)}"


def gen_bracket_brace(rng: random.Random, ctx: GenContext) -> Draft:
    """`d = {1` -> `:`; `d = [1` -> `,`."""
    first, value = _element(rng), _element(rng)
    # `{name` is a single pre-token for code tokenizers (so the prompts would end differently):
    # a bare-name first element goes on its own line, as in multi-line literals
    multiline = rng.random() < 0.35 or first.isidentifier()
    target = identifier(rng)
    opener = pick(rng, [f"{target} = \x00", "return \x00", f"{func_name(rng)}(\x00"])
    pre = statements(rng, 0, 2)
    opened = DECIDES + opener  # the open bracket decides
    core = [*pre, opened, f"{IND}{first}"] if multiline else [*pre, opened + first]
    lines = enclose(rng, core, need_func=opener.startswith("return"))
    ind = lead(lines[-2] if multiline else lines[-1])
    tail = ")" if opener.endswith("(\x00") else ""
    core_text = finish(lines)
    if multiline:
        cont_d = f": {value},\n{ind}}}{tail}\n"
        cont_l = f", {value},\n{ind}]{tail}\n"
    else:
        cont_d = f": {value}}}{tail}\n"
        cont_l = f", {value}]{tail}\n"
    return Draft(
        core_text.replace("\x00", "{"), core_text.replace("\x00", "["), cont_d, cont_l, ":", ","
    )


def gen_bracket_counting(rng: random.Random, ctx: GenContext) -> Draft:
    """`x = [[1, 2, 3` -> `]]`; `x = [1, 2, 3` -> `]`."""
    numeric = rng.random() < 0.6
    make = (lambda r: number(r).replace("1e-3", "0.001")) if numeric else identifier
    rows = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        rows.append("[" + ", ".join(make(rng) for _ in range(rng.randint(1, 4))) + "]")
    last = ", ".join(make(rng) for _ in range(rng.randint(2, 5)))
    head = ", ".join(rows) + (", " if rows else "")
    name = identifier(rng)
    openers = [f"{name} = ", "return ", f"{name} = {func_name(rng)}(", f"{name}.append("]
    split = ctx.variant == "split"
    opener = pick(rng, openers[:2] if split else openers)
    tail = ")" if opener.endswith("(") else ""
    pre = statements(rng, 0, 2)
    # every bracket still open decides the depth
    core = finish(
        enclose(rng, [*pre, f"{DECIDES}{opener}[{head}\x00{last}"], need_func=opener == "return ")
    )
    if split:  # "]]" is no token: the nested list closes its inner list first, the flat one ends
        return Draft(
            core.replace("\x00", "["),
            core.replace("\x00", ""),
            "]]\n",
            "]\n",
            "]",
            "]\n",
            exact=True,
        )
    return Draft(
        core.replace("\x00", "["), core.replace("\x00", ""), f"]]{tail}\n", f"]{tail}\n", "]]", "]"
    )


TASKS = [
    Task(
        name="bracket_brace",
        description="Inside a dict literal the first key is followed by ':', inside a list by ','.",
        class_pos="inside a dict literal ({)",
        class_neg="inside a list literal ([)",
        generate=gen_bracket_brace,
        variants=(Variant("key", "':' vs ','"),),
    ),
    Task(
        name="bracket_counting",
        description="Close a nested list with ']]', a flat list with ']'.",
        class_pos="two brackets open (nested list)",
        class_neg="one bracket open (flat list)",
        generate=gen_bracket_counting,
        variants=(
            Variant("close", "']]' vs ']' (or tokens that begin with them, e.g. ']]\\n')"),
            Variant(
                "split",
                "']' vs ']\\n', when ']]' is not one token: close the inner list vs end the line",
            ),
        ),
    ),
]
