"""Sweeps: grids of sparse and dense models, their circuits, the frontier (`sparsecircuits sweep`)."""
