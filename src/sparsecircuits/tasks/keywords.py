"""Tasks decided by a keyword earlier on the line: with/for/while/if/lambda/def/return."""

from __future__ import annotations

import random

from sparsecircuits.tasks.base import DECIDES, Draft, GenContext, Task, Variant
from sparsecircuits.tasks.context import IND, enclose, simple_statement, statements
from sparsecircuits.tasks.pools import NOUNS, distinct, func_name, identifier, number, pick
from sparsecircuits.tasks.strings import finish, lead


def _next_line(rng: random.Random, ind: str, avoid: set[str]) -> str:
    """A one-line statement at indentation `ind`, to follow a finished line."""
    return ind + simple_statement(rng, avoid)


def _path_expr(rng: random.Random, simple: bool) -> str:
    """The argument list of an open(...) call (a plain name when `simple`)."""
    r = rng.random()
    name = pick(rng, ["path", "filename", "fname", "file_path", "config_path", "log_file"])
    if r < 0.5 or simple:
        return name if rng.random() < 0.7 else f"self.{name}"
    if r < 0.75:
        mode = rng.choice(['"r"', '"rb"', "'w'", "'a'"])
        return f"{name}, {mode}"
    return f"os.path.join({identifier(rng)}, {name})"


def gen_with_as(rng: random.Random, ctx: GenContext) -> Draft:
    """`with open(path)` -> ` as`; `f = open(path)` -> end of line."""
    f = pick(rng, ["f", "fh", "fp", "handle", "stream", "infile", "src"])
    paren = ctx.variant == "paren"
    path = _path_expr(rng, simple=paren)
    pre = statements(rng, 0, 2, {f})
    opener = pick(rng, ["open", "open", "io.open", "gzip.open", "codecs.open"])
    close = "" if paren else ")"
    lines = enclose(rng, [*pre, f"\x00{opener}({path}{close}"])
    ind = lead(lines[-1])
    core = finish(lines)
    body = f"{ind}{IND}data = {f}.read()"
    if paren:  # the tokenizer merges ")" with a newline: decide at the closing parenthesis
        cont_pos, cont_neg, need_pos, need_neg = (
            f") as {f}:\n{body}\n",
            f")\n{ind}data = {f}.read()\n",
            ")",
            ")\n",
        )
    else:
        cont_pos, cont_neg, need_pos, need_neg = (
            f" as {f}:\n{body}\n",
            f"\n{ind}data = {f}.read()\n",
            " as",
            "\n",
        )
    return Draft(
        core.replace("\x00", "with "),
        core.replace("\x00", f"{f} = "),
        cont_pos,
        cont_neg,
        need_pos,
        need_neg,
        exact=paren,
    )


def gen_for_while(rng: random.Random, ctx: GenContext) -> Draft:
    """`for item` -> ` in`; `while item` -> `:`."""
    x = identifier(rng)
    xs = identifier(rng)
    pre = statements(rng, 0, 2, {x})
    lines = enclose(rng, [*pre, f"\x00 {x}"])
    ind = lead(lines[-1])
    core = finish(lines)
    return Draft(
        core.replace("\x00", "for"),
        core.replace("\x00", "while"),
        f" in {xs}:\n{ind}{IND}print({x})\n",
        f":\n{ind}{IND}{x} = {x}.next\n",
        " in",
        ":",
    )


def _condition(rng: random.Random, x: str) -> str:
    """A condition on `x` that ends in a name or a number."""
    y = identifier(rng)
    return pick(
        rng,
        [
            f"{x} > {number(rng)}",
            f"{x} < {y}",
            f"{x} is None",
            f"not {x}",
            f"{x} == {number(rng)}",
            f"{x} in {y}",
            f"{x} >= {y}.{pick(rng, NOUNS)}",
            f"{x} and {y}",
            f"{x} is not None",
            f"len({y}) > {x}",
            f"{x} % 2 == 0",
        ],
    )


def gen_else_elif(rng: random.Random, ctx: GenContext) -> Draft:
    """`else` -> `:`; `elif` -> the condition's first name (copied from the `if` above)."""
    x = pick(rng, ctx.names)
    pre = statements(rng, 0, 2, {x})
    body = statements(rng, 1, 2, {x})
    # the `if` decides which name an `elif` condition starts with
    core = [*pre, f"{DECIDES}if {_condition(rng, x)}:", *[IND + b for b in body]]
    if rng.random() < 0.4:
        core += [f"elif {_condition(rng, x)}:", *[IND + b for b in statements(rng, 1, 2, {x})]]
    core.append("\x00")
    lines = enclose(rng, core)
    ind = lead(lines[-1].replace("\x00", "e"))
    text = finish(lines)
    return Draft(
        text.replace("\x00", "else"),
        text.replace("\x00", "elif"),
        f":\n{ind}{IND}{_assign(rng)}\n",
        f" {x} is None:\n{ind}{IND}{_assign(rng)}\n",
        ":",
        " " + x,
    )


def _assign(rng: random.Random) -> str:
    return f"{identifier(rng)} = {number(rng)}"


def gen_if_ternary(rng: random.Random, ctx: GenContext) -> Draft:
    """`if x > 0` -> `:`; `y = a if x > 0` -> ` else`."""
    x, y, a, b = distinct(rng, identifier, 4)
    cond = _condition(rng, x)
    pre = statements(rng, 0, 2, {x})
    lhs = pick(
        rng, [f"{y} = {a} ", f"return {a} ", f"{y} = {func_name(rng)}({a}) ", f"{y} += {a} "]
    )
    lines = enclose(rng, [*pre, f"\x00if {cond}"], need_func=lhs.startswith("return"))
    ind = lead(lines[-1])
    core = finish(lines)
    return Draft(
        core.replace("\x00", ""),
        core.replace("\x00", lhs),
        f":\n{ind}{IND}{y} = {a}\n",
        f" else {b}\n",
        ":",
        " else",
    )


def gen_lambda_func(rng: random.Random, ctx: GenContext) -> Draft:
    """`key = lambda item` -> `:`; `def item` -> `(`."""
    x = identifier(rng)
    attr = pick(rng, NOUNS)
    pre = statements(rng, 0, 2, {x})
    kw = pick(rng, ["key", "func", "callback", "predicate", "fn", "transform"])
    lines = enclose(rng, [*pre, f"\x00 {x}"])
    ind = lead(lines[-1])
    core = finish(lines)
    return Draft(
        core.replace("\x00", f"{kw} = lambda"),
        core.replace("\x00", "def"),
        f": {x}.{attr}\n",
        f"():\n{ind}{IND}return {attr}\n",
        ":",
        "(",
    )


def gen_if_equals(rng: random.Random, ctx: GenContext) -> Draft:
    """`if x` -> ` ==`; `x` at the start of a statement -> ` =`."""
    x = identifier(rng)
    v = number(rng) if rng.random() < 0.6 else pick(rng, ["None", "True", "False", identifier(rng)])
    pre = statements(rng, 0, 2, {x})
    kw = pick(rng, ["if ", "if ", "elif ", "while "])
    core_lines = [*pre, f"\x00{x}"]
    if kw == "elif ":
        core_lines = [*pre, f"if {x} is None:", f"{IND}{x} = {number(rng)}", f"\x00{x}"]
    lines = enclose(rng, core_lines)
    ind = lead(lines[-1])
    core = finish(lines)
    neg = core.replace("\x00", "")
    return Draft(
        core.replace("\x00", kw),
        neg,
        f" == {v}:\n{ind}{IND}{identifier(rng)} = {number(rng)}\n",
        f" = {v}\n",
        " ==",
        " =",
        exact=True,
    )


def gen_enumerate_range(rng: random.Random, ctx: GenContext) -> Draft:
    """`for i, v in` -> ` enumerate`; `for i in` -> ` range`."""
    i = pick(
        rng,
        ["i", "j", "k", "idx", "index", "n", "step", "epoch", "pos", "lineno", "attempt", "row"],
    )
    v = distinct(rng, identifier, 1, {i})[0]
    xs = identifier(rng)
    pre = statements(rng, 0, 2, {i, v})
    lines = enclose(rng, [*pre, f"for {i}\x00 in"])
    ind = lead(lines[-1])
    core = finish(lines)
    return Draft(
        core.replace("\x00", f", {v}"),
        core.replace("\x00", ""),
        f" enumerate({xs}):\n{ind}{IND}print({i}, {v})\n",
        f" range(len({xs})):\n{ind}{IND}print({i})\n",
        " e",
        " r",
    )


def gen_var_if(rng: random.Random, ctx: GenContext) -> Draft:
    """`if done == True` -> `:`; `done = True` -> end of line."""
    x = identifier(rng)
    val = rng.choice(["True", "False"])
    pre = statements(rng, 0, 2, {x})
    kw = pick(rng, ["if ", "if ", "while ", "elif "])
    core_lines = [*pre, f"\x00{x} \x01 {val}"]
    if kw == "elif ":
        core_lines = [*pre, f"if {x} is None:", f"{IND}{x} = {val}", f"\x00{x} \x01 {val}"]
    lines = enclose(rng, core_lines)
    ind = lead(lines[-1])
    core = finish(lines)
    nxt = _next_line(rng, ind, {x})
    return Draft(
        core.replace("\x00", kw).replace("\x01", "=="),
        core.replace("\x00", "").replace("\x01", "="),
        f":\n{ind}{IND}{identifier(rng)} = {number(rng)}\n",
        f"\n{nxt}\n",
        ":",
        "\n",
    )


def gen_while_return_true(rng: random.Random, ctx: GenContext) -> Draft:
    """`while True` -> `:`; `return True` -> end of line."""
    x = identifier(rng)
    pre = statements(rng, 0, 3, {x})
    core = [*pre, f"if {_condition(rng, x)}:", f"{IND}\x00 True"]
    lines = enclose(rng, core, kinds=("def", "method"), max_depth=1)
    if not lines[0].startswith(("def ", "class ")):  # `return` needs a function around it
        args = ", ".join(distinct(rng, identifier, rng.randint(0, 2), {x}))
        lines = [f"def {func_name(rng)}({args}):", *[IND + ln for ln in lines]]
    ind = lead(lines[-1])
    core_text = finish(lines)
    return Draft(
        core_text.replace("\x00", "while"),
        core_text.replace("\x00", "return"),
        f":\n{ind}{IND}{_assign(rng)}\n",
        f"\n{ind[: -len(IND)]}return False\n",
        ":",
        "\n",
    )


TASKS = [
    Task(
        name="with_as",
        description="'with open(...)' continues with ' as'; 'f = open(...)' ends the line.",
        class_pos="with statement (needs ' as')",
        class_neg="assignment of open(...) (line ends)",
        generate=gen_with_as,
        variants=(
            Variant("newline", "' as' vs the newline token, after the closing ')'"),
            Variant(
                "paren", "')' (then ' as') vs ')\\n', when this tokenizer merges ')' with a newline"
            ),
        ),
    ),
    Task(
        name="for_while",
        description="'for x' continues with ' in', 'while x' with ':'.",
        class_pos="for loop header",
        class_neg="while loop header",
        generate=gen_for_while,
        variants=(Variant("kw", "' in' vs ':' (or ':\\n')"),),
    ),
    Task(
        name="else_elif",
        description="'else' is followed by ':', 'elif' by a condition (here its first name). The last token decides, so the bigram table can solve it alone and the circuit may be empty.",
        class_pos="else",
        class_neg="elif",
        generate=gen_else_elif,
        variants=(Variant("kw", "':' vs the condition's first name (e.g. ' x')"),),
        same_last_token=False,
        min_names=8,
    ),
    Task(
        name="if_ternary",
        description="A statement 'if' ends its condition with ':'; a ternary 'if' goes on with ' else'.",
        class_pos="if statement",
        class_neg="conditional expression (a if c else b)",
        generate=gen_if_ternary,
        variants=(Variant("kw", "':' vs ' else'"),),
    ),
    Task(
        name="lambda_func",
        description="'lambda x' goes on with ':', 'def name' with '('.",
        class_pos="lambda parameter",
        class_neg="function name after def",
        generate=gen_lambda_func,
        variants=(Variant("kw", "':' vs '(' (the first token of '():')"),),
    ),
    Task(
        name="if_equals",
        description="Inside a condition a name is compared with ' ==', at the start of a statement it is assigned with ' ='.",
        class_pos="condition (if/elif/while)",
        class_neg="statement start (assignment)",
        generate=gen_if_equals,
        variants=(Variant("op", "' ==' vs ' ='"),),
    ),
    Task(
        name="enumerate_range",
        description="Two loop variables are unpacked from ' enumerate', one index comes from ' range'.",
        class_pos="two loop variables (i, v)",
        class_neg="one loop variable",
        generate=gen_enumerate_range,
        variants=(Variant("fn", "' enumerate' vs ' range' (or their first tokens)"),),
    ),
    Task(
        name="var_if",
        description="After 'True'/'False' a condition ('if x == True') goes on with ':', an assignment ('x = True') ends the line.",
        class_pos="comparison in a condition",
        class_neg="assignment",
        generate=gen_var_if,
        variants=(Variant("kw", "':' (or ':\\n') vs the newline token"),),
    ),
    Task(
        name="while_return_true",
        description="'while True' is followed by ':', 'return True' by the end of the line.",
        class_pos="while True",
        class_neg="return True",
        generate=gen_while_return_true,
        variants=(Variant("kw", "':' (or ':\\n') vs the newline token"),),
    ),
]
