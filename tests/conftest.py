"""Suite-wide test settings: one thread per worker (CI runs two workers on two cores)."""

import torch

torch.set_num_threads(1)
