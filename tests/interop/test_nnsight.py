"""nnsight reads and patches node sites: the worked example of docs/interop.md runs and holds."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parents[2] / "docs" / "interop.md"


def test_interop_doc_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks
    # nnsight compiles a trace's `with` body from its source file, so the example runs from one;
    # in its own interpreter, because importing nnsight changes how later `with` blocks of
    # exec'd code are traced (it broke the docs/sites.md examples in the same test process)
    script = tmp_path / "interop_example.py"
    script.write_text("\n".join(blocks))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_site_modules_hold_no_state_and_keep_the_checkpoint_layout(tiny_model):
    names = {n for n, _ in tiny_model.named_modules()}
    assert {
        "transformer.h.0.attn.q",
        "transformer.h.1.mlp.post_act",
        "transformer.final_resid",
    } <= names
    assert not any(".attn.q." in k or "post_act" in k for k in tiny_model.state_dict())
    seen = {}
    handle = tiny_model.transformer.h[1].mlp.post_act.register_forward_hook(
        lambda mod, args, out: seen.setdefault("x", out)
    )
    try:
        _, cache = tiny_model.run_with_cache(torch.arange(8).view(1, 8), sites=["1.mlp.post_act"])
    finally:
        handle.remove()
    assert torch.equal(seen["x"], cache["1.mlp.post_act"])
