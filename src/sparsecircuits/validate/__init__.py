"""Circuit validation: sufficiency, necessity, stochastic ablation, binarisation and controls."""

from sparsecircuits.validate.config import CHECKS, ValidationConfig, parse_checks

__all__ = ["CHECKS", "ValidationConfig", "parse_checks", "validate_circuit"]


def __getattr__(name: str):  # lazy: `sparsecircuits --help` must not import torch
    if name == "validate_circuit":
        from sparsecircuits.validate.runner import validate_circuit

        return validate_circuit
    raise AttributeError(name)
