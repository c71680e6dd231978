"""Circuit validation: a registry of checks (sufficiency, necessity, stochastic ablation, binarisation, controls)."""

from sparsecircuits.lazy import lazy_exports
from sparsecircuits.validate.config import ValidationConfig, parse_checks

__all__ = [
    "CHECKS",
    "REGISTRY",
    "CheckContext",
    "ValidationConfig",
    "check",
    "parse_checks",
    "validate_circuit",
]
# Lazy: `sparsecircuits --help` must not import torch.
__getattr__ = lazy_exports(
    __name__,
    {
        "CHECKS": "checks",
        "REGISTRY": "checks",
        "CheckContext": "checks",
        "check": "checks",
        "validate_circuit": "runner",
    },
)
