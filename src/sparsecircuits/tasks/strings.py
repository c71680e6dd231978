"""Tasks about string literals: quote matching, f-string braces, file modes."""

from __future__ import annotations

import random

from sparsecircuits.tasks.base import Draft, GenContext, Task, Variant
from sparsecircuits.tasks.context import IND, enclose, statements
from sparsecircuits.tasks.pools import distinct, func_name, identifier, pick, sentence


def lead(line: str) -> str:
    """The indentation of `line`."""
    return line[: len(line) - len(line.lstrip(" "))]


def finish(lines: list[str]) -> str:
    """Join core lines into prompt text (the last line ends at the decision point)."""
    return "\n".join(lines)


def _call_prefix(rng: random.Random) -> str:
    x, y = distinct(rng, identifier, 2)
    return pick(
        rng,
        [
            "print(",
            "logger.info(",
            "logger.warning(",
            "logging.debug(",
            "raise ValueError(",
            "raise RuntimeError(",
            "raise KeyError(",
            f"{x}.append(",
            f"{x} = {func_name(rng)}(",
            f"{x}.write(",
            "sys.stdout.write(",
            "warnings.warn(",
            f"{x}.add(",
            f"{x} = {func_name(rng)}({y}, ",
            f"return {func_name(rng)}(",
            f"{x}.extend(",
        ],
    )


def gen_single_double_quote(rng: random.Random, ctx: GenContext) -> Draft:
    """`print("hello world` -> closing `"`; `print('hello world` -> closing `'`."""
    text = sentence(rng, 1, 6)
    if rng.random() < 0.3:
        text = text.capitalize()
    if rng.random() < 0.2:
        text = f"{sentence(rng, 1, 2)}: {text}"
    call = _call_prefix(rng)
    pre = statements(rng, 0, 2)
    lines = enclose(rng, [*pre, f"{call}\x00{text}"], need_func=call.startswith("return"))
    core = finish(lines)
    return Draft(
        core.replace("\x00", '"'),
        core.replace("\x00", "'"),
        '")\n',
        "')\n",
        '"',
        "'",
    )


def gen_fstring_brace(rng: random.Random, ctx: GenContext) -> Draft:
    """`print(f"total: {` -> a name; `print("total: {` -> `}` (or a positional index)."""
    q = rng.choice(['"', "'"])
    label = sentence(rng, 1, 4)
    sep = pick(rng, [": ", " ", " = ", "="])
    name = pick(rng, ctx.bare_names)
    call = _call_prefix(rng)
    pre = statements(rng, 0, 2, {name})
    core = [*pre, f"{name} = {identifier(rng)}", f"{call}\x00{q}{label}{sep}{{"]
    lines = enclose(rng, core, need_func=call.startswith("return"))
    core = finish(lines)
    idx = "0" if ctx.variant == "index" else ""
    return Draft(
        core.replace("\x00", "f"),
        core.replace("\x00", ""),
        f"{name}}}{q})\n",
        f"{idx}}}{q}.format({name}))\n",
        name,
        idx or "}",
    )


WRITE_READ = [
    ("output", "input"),
    ("out", "in"),
    ("dest", "src"),
    ("destination", "source"),
    ("save", "load"),
    ("write", "read"),
    ("export", "import"),
]
PATH_SUFFIX = ["_path", "_file", "_filename", "_fname", "_name"]
FILE_KINDS = ["", "", "csv_", "json_", "log_", "txt_", "data_", "model_", "config_", "cache_"]


def gen_with_open(rng: random.Random, ctx: GenContext) -> Draft:
    """`with open(output_path, '` -> `w`; `with open(input_path, '` -> `r`."""
    w, r = pick(rng, WRITE_READ)
    kind, suffix = pick(rng, FILE_KINDS), pick(rng, PATH_SUFFIX)
    owner = pick(rng, ["", "", "", "self.", "args.", "config.", "opts."])
    q = rng.choice(["'", '"'])
    f = pick(rng, ["f", "fh", "fp", "handle", "stream", "out", "src"])
    form = rng.random()
    pre = statements(rng, 0, 2, {f})
    head = (
        f"with open({owner}\x00_{kind}{suffix[1:]}, {q}"
        if form < 0.75
        else f"{f} = open({owner}\x00_{kind}{suffix[1:]}, {q}"
    )
    head = head.replace("_,", ",")  # an empty suffix leaves a dangling underscore
    lines = enclose(rng, [*pre, head])
    ind = lead(lines[-1])
    core = finish(lines)

    def cont(mode: str) -> str:
        if form < 0.75:
            body = f"{f}.write(data)" if mode == "w" else "data = " + f"{f}.read()"
            return f"{mode}{q}) as {f}:\n{ind}{IND}{body}\n"
        return f"{mode}{q})\n"

    return Draft(core.replace("\x00", w), core.replace("\x00", r), cont("w"), cont("r"), "w", "r")


TASKS = [
    Task(
        name="single_double_quote",
        description="Close a string with the quote character that opened it.",
        class_pos='string opened with a double quote (")',
        class_neg="string opened with a single quote (')",
        generate=gen_single_double_quote,
        variants=(
            Variant("close", "the first token of '\")' vs of \"')\" (e.g. '\")\\n' / \"')\\n\")"),
        ),
    ),
    Task(
        name="fstring_brace",
        description="After '{' inside an f-string comes a name; inside a plain string the brace is a .format placeholder.",
        class_pos="brace inside an f-string",
        class_neg="brace inside a plain (.format) string",
        generate=gen_fstring_brace,
        variants=(
            Variant("brace", "a name token vs '}' (of '{}')"),
            Variant(
                "index", "a name token vs '0' (of '{0}'; used when the tokenizer merges ' {}')"
            ),
        ),
        min_names=8,
    ),
    Task(
        name="with_open",
        description="The file mode follows from the path's name: output-like paths are written, input-like paths read.",
        class_pos="output-like path (open for writing)",
        class_neg="input-like path (open for reading)",
        generate=gen_with_open,
        variants=(Variant("mode", "'w' vs 'r' right after the opening quote of the mode string"),),
    ),
]
