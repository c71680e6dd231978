"""`python -m sparsecircuits` (and `torchrun -m sparsecircuits`) runs the CLI."""

from sparsecircuits.cli import main

if __name__ == "__main__":
    main()
