"""The registry of tasks: the twenty of TASKS.md by public name, `NAME__shuffled` controls, and task files."""

from __future__ import annotations

import difflib

from sparsecircuits.errors import UserError
from sparsecircuits.tasks import brackets, keywords, layout, strings, variables
from sparsecircuits.tasks.base import ShuffledTask, Task, TaskLike
from sparsecircuits.tasks.files import is_task_file, load_task_file

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


def get_task(name: str) -> TaskLike:
    """The task called `name`, or the task file at that path (`NAME__shuffled`: its label-shuffled control)."""
    base = name.removesuffix(SHUFFLED_SUFFIX)
    if is_task_file(base):
        task: TaskLike = load_task_file(base)
        return ShuffledTask(task) if name.endswith(SHUFFLED_SUFFIX) else task
    if base not in _TASKS:
        close = difflib.get_close_matches(base, ORDER, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "run `sparsecircuits tasks list`."
        raise UserError(f"unknown task {name!r}; {hint}")
    builtin = _TASKS[base]
    return ShuffledTask(builtin) if name.endswith(SHUFFLED_SUFFIX) else builtin
