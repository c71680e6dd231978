"""Tasks that track a variable: its type, a parameter to copy, a swap partner, default arguments."""

from __future__ import annotations

import random

from sparsecircuits.tasks.base import DECIDES, Draft, GenContext, Task, Variant
from sparsecircuits.tasks.context import IND, docstring, enclose, statements
from sparsecircuits.tasks.pools import class_name, distinct, func_name, identifier, pick
from sparsecircuits.tasks.strings import finish, lead

SET_INITS = ["set()"]
STR_INITS = ['""', "''"]


def _set_or_string(rng: random.Random, var: str) -> Draft:
    x, xs = distinct(rng, identifier, 2, {var})
    between = statements(rng, 0, 2, {var, x})
    body = statements(rng, 0, 1, {var, x})
    core = [
        f"{DECIDES}{var} = \x00",  # the initial value decides
        *between,
        f"for {x} in {xs}:",
        *[IND + b for b in body],
        f"{IND}{var}",
    ]
    lines = enclose(rng, core, kinds=("def", "method"), max_depth=1)
    ind = lead(lines[-1])
    text = finish(lines)
    item = pick(rng, [x, f"str({x})", f"{x}.name", f"{x}[0]", x])
    in_func = lines[0].startswith(("def ", "class "))
    tail = f"\n{ind[: -len(IND)]}return {var}\n" if in_func else "\n"
    return Draft(
        text.replace("\x00", pick(rng, SET_INITS)),
        text.replace("\x00", pick(rng, STR_INITS)),
        f".add({item}){tail}",
        f" += {item}{tail}",
        ".",
        " +",
    )


def gen_set_or_string(rng: random.Random, ctx: GenContext) -> Draft:
    """`seen = set() ... seen` -> `.add`; `seen = "" ... seen` -> ` +=`."""
    return _set_or_string(rng, identifier(rng))


def gen_set_or_string_fixed(rng: random.Random, ctx: GenContext) -> Draft:
    """As set_or_string, the variable is always `current`."""
    return _set_or_string(rng, "current")


def gen_class_init(rng: random.Random, ctx: GenContext) -> Draft:
    """`self.width = width\\n        self.height =` -> ` height` (vs another unassigned parameter)."""
    ps = distinct(rng, lambda r: pick(r, ctx.names), rng.randint(2, 5))
    done = rng.randint(0, len(ps) - 2)
    pa, pb = ps[done], pick(rng, ps[done + 1 :])
    n_plain = len(ps) - (rng.randint(0, 2) if rng.random() < 0.3 else 0)  # defaults come last
    sig = ", ".join(["self", *[p if i < n_plain else f"{p}=None" for i, p in enumerate(ps)]])
    head = [f"class {class_name(rng)}:"]
    if rng.random() < 0.4:
        head += [IND + docstring(rng), ""]
    init = [f"{IND}{DECIDES}def __init__({sig}):"]  # the parameters decide
    if rng.random() < 0.2:
        init.append(f"{IND * 2}super().__init__()")
    init += [f"{IND * 2}self.{p} = {p}" for p in ps[:done]]
    init.append(f"{IND * 2}self.\x00 =")
    text = finish(head + init)
    return Draft(
        text.replace("\x00", pa),
        text.replace("\x00", pb),
        f" {pa}\n",
        f" {pb}\n",
        " " + pa,
        " " + pb,
    )


def gen_var_swap(rng: random.Random, ctx: GenContext) -> Draft:
    """`a, b = b,` -> ` a`; `b, a = a,` -> ` b`."""
    a, b = distinct(rng, lambda r: pick(r, ctx.names), 2)
    pre = statements(rng, 0, 2, {a, b})
    guard = rng.random() < 0.5
    core = [*pre, f"if {a} > {b}:", f"{IND}\x00"] if guard else [*pre, "\x00"]
    lines = enclose(rng, core)
    text = finish(lines)
    return Draft(
        text.replace("\x00", f"{a}, {b} = {b},"),
        text.replace("\x00", f"{b}, {a} = {a},"),
        f" {a}\n",
        f" {b}\n",
        " " + a,
        " " + b,
    )


DEFAULTS = ["None", "True", "False", "0", "1", "10", "0.5", '""', "[]", "()", "1.0", "100"]
NUMERIC_DEFAULTS = ["0", "1", "2", "3", "10", "100", "0.5", "1.0", "0.01", "1000", "5", "42"]


def gen_final_kwarg(rng: random.Random, ctx: GenContext) -> Draft:
    """`def f(a, b=1, c` -> `=`; `def f(a, b, c` -> `)` (or `):`)."""
    ps = distinct(rng, identifier, rng.randint(2, 5), {"self"})
    last = ps[-1]
    first_default = rng.randint(0, len(ps) - 2)
    pos_ps = [
        p if i < first_default else f"{p}={pick(rng, DEFAULTS)}" for i, p in enumerate(ps[:-1])
    ]
    method = rng.random() < 0.3
    lead_ps = ["self"] if method else []
    name = func_name(rng)
    pos = f"{DECIDES}def {name}({', '.join([*lead_ps, *pos_ps, last])}"
    neg = f"{DECIDES}def {name}({', '.join([*lead_ps, *ps])}"
    if method:
        lines = [f"class {class_name(rng)}:", f"{IND}\x00"]
    else:
        lines = enclose(rng, ["\x00"], kinds=("def", "if"), max_depth=1)
    ind = lead(lines[-1])
    text = finish(lines)
    body = f"{ind}{IND}return {pick(rng, ps)}"
    return Draft(
        text.replace("\x00", pos),
        text.replace("\x00", neg),
        f"={pick(rng, NUMERIC_DEFAULTS)}):\n{body}\n",
        f"):\n{body}\n",
        "=",
        ")",
    )


TASKS = [
    Task(
        name="set_or_string",
        description="A variable made with set() grows with '.add', one made with \"\" with ' +='; names vary.",
        class_pos="variable initialised as set()",
        class_neg="variable initialised as a string",
        generate=gen_set_or_string,
        variants=(Variant("op", "'.add' (or '.') vs ' +=' (or ' +')"),),
    ),
    Task(
        name="set_or_string_fixedvarname",
        description="As set_or_string, but the variable is always called 'current'.",
        class_pos="current = set()",
        class_neg="current = a string",
        generate=gen_set_or_string_fixed,
        variants=(Variant("op", "'.add' (or '.') vs ' +=' (or ' +')"),),
    ),
    Task(
        name="class_init",
        description="In __init__, 'self.x =' is followed by the parameter of the same name.",
        class_pos="assigning the next parameter in signature order",
        class_neg="assigning a later parameter",
        generate=gen_class_init,
        variants=(
            Variant("copy", "' <name>' vs ' <other name>' (both parameters, single tokens)"),
        ),
        min_names=8,
    ),
    Task(
        name="var_swap",
        description="When swapping two names, 'x, y = y,' is completed with ' x'.",
        class_pos="swap written a, b = b, a",
        class_neg="swap written b, a = a, b",
        generate=gen_var_swap,
        variants=(Variant("copy", "' <first name>' vs ' <second name>' (single tokens)"),),
        min_names=8,
    ),
    Task(
        name="final_kwarg",
        description="Once a parameter has a default, the last one needs one too ('='); without defaults the signature may close.",
        class_pos="an earlier parameter has a default",
        class_neg="no earlier parameter has a default",
        generate=gen_final_kwarg,
        variants=(Variant("sig", "'=' vs ')' (or '):' / '):\\n')"),),
    ),
]
