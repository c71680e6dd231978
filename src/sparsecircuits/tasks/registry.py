"""The registry of tasks: the twenty of TASKS.md by public name, plus `NAME__shuffled` controls."""

from __future__ import annotations

import difflib

from sparsecircuits.errors import UserError
from sparsecircuits.tasks import brackets, keywords, layout, strings, variables
from sparsecircuits.tasks.base import ShuffledTask, Task

SHUFFLED_SUFFIX = "__shuffled"

# TASKS.md order (the paper's Table 1)
ORDER = [
    "single_double_quote",
    "final_kwarg",
    "set_or_string",
    "set_or_string_fixedvarname",
    "class_init",
    "with_as",
    "bracket_brace",
    "with_open",
    "bracket_counting",
    "for_while",
    "else_elif",
    "fstring_brace",
    "if_ternary",
    "var_swap",
    "indent_for",
    "lambda_func",
    "if_equals",
    "enumerate_range",
    "var_if",
    "while_return_true",
]

_TASKS: dict[str, Task] = {
    t.name: t for module in (strings, brackets, keywords, layout, variables) for t in module.TASKS
}
assert sorted(_TASKS) == sorted(ORDER), "every task module entry must be listed in ORDER"


def task_names() -> list[str]:
    """The twenty public task names, in TASKS.md order (shuffled controls not included)."""
    return list(ORDER)


def get_task(name: str) -> Task | ShuffledTask:
    """The task called `name` (`NAME__shuffled` gives the label-shuffled control of NAME)."""
    base = name.removesuffix(SHUFFLED_SUFFIX)
    if base not in _TASKS:
        close = difflib.get_close_matches(base, ORDER, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "run `sparsecircuits tasks list`."
        raise UserError(f"unknown task {name!r}; {hint}")
    task = _TASKS[base]
    return ShuffledTask(task) if name.endswith(SHUFFLED_SUFFIX) else task
