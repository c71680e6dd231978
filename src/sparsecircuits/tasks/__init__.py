"""Twenty binary next-token tasks on Python code (TASKS.md), their task loss and evaluation."""

from sparsecircuits.tasks.base import Example, Pair, ShuffledTask, Task, split_of
from sparsecircuits.tasks.loss import (
    TaskBatch,
    evaluate_task,
    task_accuracy,
    task_loss,
    task_losses,
)
from sparsecircuits.tasks.registry import get_task, task_names

__all__ = [
    "Example",
    "Pair",
    "ShuffledTask",
    "Task",
    "TaskBatch",
    "evaluate_task",
    "get_task",
    "split_of",
    "task_accuracy",
    "task_loss",
    "task_losses",
    "task_names",
]
