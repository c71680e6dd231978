"""Tensor files: reading `torch.save` files safely, and writing safetensors one tensor at a time.

`load_torch_file` is the one place a `.pt` file is opened: plain tensors and containers only
(`weights_only=True`), memory-mapped where the file allows it, and a refusal is one sentence
naming the Python object the file asked for (never torch's advice to unpickle fully).
`write_safetensors` streams tensors to disk, so converting a 1.7 GB checkpoint needs about one
tensor's worth of memory beyond the (memory-mapped) source.
"""

from __future__ import annotations

import json
import pickle
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sparsecircuits import fileio
from sparsecircuits.errors import UserError

if TYPE_CHECKING:
    import torch

# torch's weights_only refusal names the global it would have had to import.
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def load_torch_file(path: str | Path, what: str, fix: str, mmap: bool = True) -> object:
    """The content of a `torch.save` file, read with weights_only=True (memory-mapped if possible).

    `what` names the file for the user ("the checkpoint"), `fix` ends the sentence of any refusal.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist; {fix}.")
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError as e:  # a legacy (non-zip) file cannot be memory-mapped
            if not mmap or "mmap" not in str(e):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = _GLOBAL.search(str(e))
        name = found.group(1) if found else ""
        obj = f"the Python object {name}" if name else "Python objects other than tensors"
        raise UserError(
            f"{what} {path} needs full unpickling ({obj}), which can run arbitrary code, so "
            f"sparsecircuits does not open it; {fix}."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{what} {path} cannot be read ({first}); {fix}.") from None


_SAFETENSORS_DTYPES = {
    "float32": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "float64": "F64",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint8": "U8",
    "bool": "BOOL",
}


def write_safetensors(
    path: str | Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]
) -> None:
    """Write `tensors` as one safetensors file (atomically), one tensor in memory at a time.

    The safetensors layout: an 8-byte little-endian header length, a JSON header padded with
    spaces to 8 bytes, then the raw tensors in order (`safetensors.torch.load_file` reads it).
    """
    header: dict[str, object] = {"__metadata__": dict(metadata)}
    offset = 0
    for name, t in tensors.items():
        dtype = _SAFETENSORS_DTYPES.get(str(t.dtype).removeprefix("torch."))
        if dtype is None:
            raise UserError(f"tensor {name} has dtype {t.dtype}, which safetensors cannot store.")
        size = t.numel() * t.element_size()
        header[name] = {
            "dtype": dtype,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with fileio.atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for t in tensors.values():
            f.write(_raw_bytes(t))


def _raw_bytes(t: torch.Tensor) -> memoryview:
    """The tensor's bytes in C order, without a copy when it is already contiguous."""
    import torch

    t = t.detach().to("cpu").contiguous()
    if t.numel() == 0:
        return memoryview(b"")
    return memoryview(t.reshape(-1).view(torch.uint8).numpy())
