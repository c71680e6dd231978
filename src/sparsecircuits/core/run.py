"""Which run a circuit belongs to: the one rule for finding its folder, and loading it hash-checked."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits.errors import UserError

if TYPE_CHECKING:
    from sparsecircuits.core.circuit import Circuit
    from sparsecircuits.train.checkpoint import Run

WEIGHTS_FILE = "model.safetensors"


def resolve_run_dir(named: str | None, circuit_path: Path, override: str | Path | None) -> Path:
    """`override` (`--run`) if given, else the run a circuit file names, as given or relative to the file."""
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


def load_circuit_run(
    circuit: Circuit, circuit_path: Path, override: str | Path | None = None, device: str = "cpu"
) -> Run:
    """The run a circuit was pruned from, refusing one whose weights differ from the circuit's."""
    from sparsecircuits.train import load_run

    run = load_run(resolve_run_dir(circuit.model.run, circuit_path, override), device=device)
    want = circuit.model.weights_sha256
    if want and want != run.weights_sha256:
        raise UserError(
            f"{circuit_path} was pruned from weights {want[:12]}, but {run.path} holds "
            f"{run.weights_sha256[:12]}; pass --run with the run the circuit came from."
        )
    return run
