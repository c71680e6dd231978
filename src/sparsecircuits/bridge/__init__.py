"""Bridges between a frozen dense model and a weight-sparse one (METHOD section 8), and steering.

`bridge train` trains a sparse model next to a dense one with an encoder and a decoder at every
residual location; `bridge steer` pushes a sparse circuit node's activation change through a
decoder into the dense model; `bridge eval` measures the bridges (docs/bridges.md).
"""

from sparsecircuits.lazy import lazy_exports

# Lazy: `sparsecircuits --help` imports bridge.cli, which must not pull in torch.
_EXPORTS = {
    "BridgeConfig": "config",
    "Bridges": "model",
    "bridge_losses": "model",
    "load_bridged": "model",
    "train_bridged": "train",
    "steer": "steer",
    "evaluate_bridges": "evaluate",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
