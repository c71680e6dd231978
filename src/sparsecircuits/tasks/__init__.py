"""Twenty binary next-token tasks on Python code (TASKS.md), their task loss and evaluation."""

from sparsecircuits.lazy import lazy_exports

_EXPORTS = {
    "Example": "base",
    "Pair": "base",
    "ShuffledTask": "base",
    "Task": "base",
    "split_of": "base",
    "TaskLike": "base",
    "FileTask": "files",
    "load_task_file": "files",
    "TaskBatch": "loss",
    "task_accuracy": "loss",
    "task_loss": "loss",
    "task_losses": "loss",
    "get_task": "registry",
    "task_names": "registry",
}
__all__ = sorted(_EXPORTS)
# Lazy: `sparsecircuits --help` imports tasks.cli, which must not pull in torch.
__getattr__ = lazy_exports(__name__, _EXPORTS)
