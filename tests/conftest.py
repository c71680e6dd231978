"""Suite-wide test settings: one thread per worker (CI runs two workers on two cores), own caches."""

import os
import tempfile

import torch

torch.set_num_threads(1)
# Activation statistics, snippets and kernels are cached in a folder of this session, never the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="sparsecircuits-test-cache-")
