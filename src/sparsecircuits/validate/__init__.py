"""Circuit validation: sufficiency, necessity, stochastic ablation, binarisation and controls."""

from sparsecircuits.lazy import lazy_exports
from sparsecircuits.validate.config import CHECKS, ValidationConfig, parse_checks

__all__ = ["CHECKS", "ValidationConfig", "parse_checks", "validate_circuit"]
# Lazy: `sparsecircuits --help` must not import torch.
__getattr__ = lazy_exports(__name__, {"validate_circuit": "runner"})
