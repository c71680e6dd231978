"""What a circuit belongs to: the one rule for finding its run folder, the weights check, and its task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits.errors import UserError

if TYPE_CHECKING:
    from sparsecircuits.core.circuit import Circuit
    from sparsecircuits.tasks.base import TaskLike
    from sparsecircuits.train.checkpoint import Run


def resolve_run_dir(named: str | None, circuit_path: Path, override: str | Path | None) -> Path:
    """`override` (`--run`) if given, else the run a circuit file names, as given or relative to the file."""
    from sparsecircuits.train.checkpoint import WEIGHTS_FILE

    if override is not None:
        p = Path(override)
        if not (p / WEIGHTS_FILE).is_file():
            raise UserError(
                f"--run {p} is not a run folder (no {WEIGHTS_FILE}); pass the run the circuit was pruned from."
            )
        return p
    for p in [Path(named), circuit_path.parent / named] if named else []:
        if (p / WEIGHTS_FILE).is_file():
            return p
    raise UserError(
        f"the run folder {named or '(none)'} named by {circuit_path} was not found; "
        "pass --run with the folder of the model it was pruned from."
    )


def check_weights(circuit: Circuit, circuit_path: Path, run: Run) -> None:
    """Refuse a run whose weights differ from those the circuit was pruned from."""
    want = circuit.model.weights_sha256
    if want and want != run.weights_sha256:
        raise UserError(
            f"{circuit_path} was pruned from weights {want[:12]}, but {run.path} holds "
            f"{run.weights_sha256[:12]}; pass --run with the run the circuit came from."
        )


def load_circuit_run(
    circuit: Circuit, circuit_path: Path, override: str | Path | None = None, device: str = "cpu"
) -> Run:
    """The run a circuit was pruned from, refusing one whose weights differ from the circuit's."""
    from sparsecircuits.train import load_run

    run = load_run(resolve_run_dir(circuit.model.run, circuit_path, override), device=device)
    check_weights(circuit, circuit_path, run)
    return run


def circuit_task(circuit: Circuit, circuit_path: Path) -> TaskLike:
    """The circuit's task: its task file when it came from one (refused if the file changed), else the built-in."""
    from sparsecircuits.tasks.files import FileTask
    from sparsecircuits.tasks.registry import get_task

    source = circuit.task.source
    task = get_task(source or circuit.task.name)
    want = circuit.task.source_sha256
    if isinstance(task, FileTask) and want and task.source.sha256 != want:
        raise UserError(
            f"task file {source} changed since {circuit_path} was pruned from it; restore the file or prune again."
        )
    return task
