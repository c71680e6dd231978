"""Pack a run folder into a few small files for a GPU machine's output folder, and unpack it.

The GPU machine returns at most 8 files of at most 15 MiB each. `pack` writes the run's weights
in bf16, each sparse matrix (under a quarter nonzero) as its nonzero values (bf16) and flat
int32 indices, split into safetensors shards under the size limit, beside config.toml,
tokenizer.json and metrics.jsonl. `unpack` rebuilds an ordinary run folder (fp32 weights) that
every command opens.

    python benchmarks/gpu_export.py pack RUN OUT_DIR
    python benchmarks/gpu_export.py unpack OUT_DIR RUN
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

MAX_FILES = 8
MAX_BYTES = 15 * 2**20
_SHARD_BYTES = MAX_BYTES - 2**20  # room for the safetensors header
_COPIED = ("config.toml", "tokenizer.json", "metrics.jsonl")
_SPARSE_BELOW = 0.25  # store a tensor sparse below this density (6 bytes a nonzero vs 2 an entry)


def pack(run: Path, out: Path) -> list[Path]:
    """Write the packed run into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    state = load_file(str(run / "model.safetensors"))
    pieces: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        nz = t.count_nonzero().item()
        if t.dim() >= 2 and nz < _SPARSE_BELOW * t.numel():
            flat = t.flatten()
            idx = flat.nonzero().flatten()
            pieces[f"{name}::indices"] = idx.to(torch.int32)
            pieces[f"{name}::values"] = flat[idx].to(torch.bfloat16)
            pieces[f"{name}::shape"] = torch.tensor(t.shape, dtype=torch.int64)
        else:
            pieces[name] = t.to(torch.bfloat16)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in sorted(pieces.items()):
        nbytes = t.numel() * t.element_size()
        if nbytes > _SHARD_BYTES:
            raise ValueError(f"{name} alone is {nbytes} bytes, over the {MAX_BYTES}-byte limit")
        if size + nbytes > _SHARD_BYTES:
            shards.append({})
            size = 0
        shards[-1][name] = t.contiguous()
        size += nbytes
    written = []
    for i, shard in enumerate(shards):
        path = out / f"weights-{i:02d}.safetensors"
        save_file(shard, str(path))
        written.append(path)
    for name in _COPIED:
        if (run / name).is_file():
            shutil.copy(run / name, out / name)
            written.append(out / name)
    return written


def unpack(packed: Path, run: Path) -> None:
    """Rebuild a run folder (fp32 model.safetensors and the copied files) from `pack`'s output."""
    pieces: dict[str, torch.Tensor] = {}
    for path in sorted(packed.glob("weights-*.safetensors")):
        pieces.update(load_file(str(path)))
    state = {}
    for name, t in pieces.items():
        if name.endswith("::shape") or name.endswith("::values"):
            continue
        if name.endswith("::indices"):
            base = name[: -len("::indices")]
            shape = pieces[f"{base}::shape"].tolist()
            flat = torch.zeros(int(torch.tensor(shape).prod()), dtype=torch.float32)
            flat[t.long()] = pieces[f"{base}::values"].float()
            state[base] = flat.view(shape)
        else:
            state[name] = t.float()
    run.mkdir(parents=True, exist_ok=True)
    save_file(state, str(run / "model.safetensors"))
    for name in _COPIED:
        if (packed / name).is_file():
            shutil.copy(packed / name, run / name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["pack", "unpack"])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    args = ap.parse_args()
    if args.action == "pack":
        files = pack(args.src, args.dst)
        print(f"packed {args.src} into {len(files)} files in {args.dst}")
    else:
        unpack(args.src, args.dst)
        print(f"unpacked {args.src} into {args.dst}")


if __name__ == "__main__":
    main()
