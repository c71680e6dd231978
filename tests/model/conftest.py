"""Model tests: one thread, tiny models."""

import torch

torch.set_num_threads(1)
