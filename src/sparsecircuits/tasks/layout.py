"""Tasks about layout: the indentation of the next line."""

from __future__ import annotations

import random

from sparsecircuits.tasks.base import Draft, GenContext, Task, Variant
from sparsecircuits.tasks.context import IND, enclose, simple_statement, statements
from sparsecircuits.tasks.pools import distinct, identifier
from sparsecircuits.tasks.strings import finish, lead


def gen_indent_for(rng: random.Random, ctx: GenContext) -> Draft:
    """After `for i in xs:` the next line is indented deeper; after a plain statement it is not."""
    x, xs = distinct(rng, identifier, 2)
    pre = statements(rng, 0, 3, {x})
    lines = enclose(rng, [*pre, "\x00"], max_depth=2)
    if not lead(lines[-1]):  # at column 0 the negative's next line would have no indent token
        lines = [f"def {identifier(rng)}_{identifier(rng)}():", *[IND + ln for ln in lines]]
    ind = lead(lines[-1])
    text = finish(lines)
    body, nxt = simple_statement(rng, {x}), simple_statement(rng, {x})
    nl = "\n" if ctx.variant == "after_newline" else ""
    cont_pos = f"{'' if nl else chr(10)}{ind}{IND}{body}\n"
    cont_neg = f"{'' if nl else chr(10)}{ind}{nxt}\n"
    need = " " if nl else "\n"
    return Draft(
        text.replace("\x00", f"for {x} in {xs}:") + nl,
        text.replace("\x00", simple_statement(rng, {x})) + nl,
        cont_pos,
        cont_neg,
        need,
        need,
    )


TASKS = [
    Task(
        name="indent_for",
        description="After a 'for' header the next line is indented one level deeper; after a plain statement it keeps the indentation. The last token decides, so the bigram table can solve it alone and the circuit may be empty.",
        class_pos="line after a for header (deeper indent)",
        class_neg="line after a plain statement (same indent)",
        generate=gen_indent_for,
        variants=(
            Variant("after_newline", "the indentation token of the next line: deeper vs the same"),
            Variant("before_newline", "the newline+indentation token: deeper vs the same"),
        ),
        same_last_token=False,
    ),
]
