"""Suite-wide test settings and the shared workspace.

One thread per worker (CI runs two workers on two cores); caches in a folder of this session;
`workspace`: a tiny corpus, a task-trained run and a circuit pruned from it, built once per session.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sysconfig
import tempfile
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
# Activation statistics, snippets and kernels are cached in a folder of this session, never the user's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="sparsecircuits-test-cache-")


@pytest.fixture
def tiny_model():
    """A 2-layer, d_model 16 SparseGPT with random weights and AbsTopK on."""
    from sparsecircuits.model import ModelConfig, SparseGPT

    cfg = ModelConfig(vocab_size=32, block_size=16, n_layer=2, d_model=16, d_head=4, init_std=0.2)
    model = SparseGPT(cfg, seed=0).eval()
    with torch.no_grad():
        model.bigram_table.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return model


TASK = "single_double_quote"
STDLIB_FILES = [
    "argparse.py",
    "ast.py",
    "dataclasses.py",
    "csv.py",
    "functools.py",
    "textwrap.py",
    "string.py",
    "shutil.py",
    "tempfile.py",
    "enum.py",
    "pprint.py",
    "random.py",
]
PRUNE = dict(
    target_loss=0.3,
    n_train=64,
    n_heldout=48,
    max_len=40,
    steps=40,
    batch_size=16,
    mean_tokens=2048,
    mean_seq_len=32,
    bank_size=64,
    eval_batch_size=96,
    calibrate=False,
    node_deltas=False,
    lr=0.03,
    k_coef=1e-3,
)


def _train_on_task(model: torch.nn.Module, tok, steps: int = 80) -> float:
    """Fit the tiny model to the task directly (a stand-in for pretraining); returns the last loss."""
    from sparsecircuits.tasks import TaskBatch, get_task, task_loss

    pairs = get_task(TASK).pairs(tok, 256, split="train", seed=0, max_len=PRUNE["max_len"])
    opt = torch.optim.AdamW(model.parameters(), lr=2e-2)
    g = torch.Generator().manual_seed(0)
    model.train()
    loss = torch.tensor(0.0)
    for _ in range(steps):
        idx = torch.randperm(len(pairs), generator=g)[:16].tolist()
        b = TaskBatch.from_pairs([pairs[i] for i in idx], tok.eot_id)
        loss = task_loss(model(b.tokens, last_pos=b.last_pos), b.target, b.other)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> dict[str, Path]:
    """A corpus, a run folder trained on the task, and a circuit file pruned from it.

    Built once per test session and shared by pytest-xdist workers (a file lock guards it).
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "validate-workspace"
    paths = {
        "root": root,
        "run": root / "run",
        "corpus": root / "corpus",
        "circuit": root / "circuits" / f"{TASK}.json",
    }
    with open(base / "validate-workspace.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            _build(root)
            (root / "done").touch()
    return paths


def _build(root: Path) -> None:
    """Write corpus, run and circuit into `root`."""
    from sparsecircuits.core.circuit import save_circuit
    from sparsecircuits.corpus import BuildConfig, Tokenizer, build_corpus
    from sparsecircuits.model import ModelConfig, SparseGPT
    from sparsecircuits.prune import PruneConfig, prune_task
    from sparsecircuits.train import load_run
    from sparsecircuits.train.checkpoint import save_weights
    from sparsecircuits.train.config import RunConfig, TrainConfig
    from sparsecircuits.train.sparsity import project_to_sparsity

    src = root / "src"
    src.mkdir()
    std = Path(sysconfig.get_paths()["stdlib"])
    for name in STDLIB_FILES:
        shutil.copy(std / name, src / name)
    corpus = root / "corpus"
    build_corpus(
        BuildConfig(
            sources=[str(src)], out=corpus, vocab_size=2048, val_fraction=0.2, progress=False
        )
    )
    tok = Tokenizer.load(corpus)

    mcfg = ModelConfig(
        vocab_size=tok.vocab_size,
        block_size=64,
        n_layer=1,
        d_model=32,
        d_head=8,
        bigram_table=False,
    )
    tcfg = TrainConfig(corpus=str(corpus), target_fraction=0.5, min_row_nonzeros=2)
    model = SparseGPT(mcfg, seed=0)
    project_to_sparsity(model, tcfg.target_fraction, tcfg.min_row_nonzeros, tcfg)
    _train_on_task(model, tok)
    project_to_sparsity(model, tcfg.target_fraction, tcfg.min_row_nonzeros, tcfg)

    run_dir = root / "run"
    run_dir.mkdir()
    (run_dir / "config.toml").write_text(RunConfig(model=mcfg, train=tcfg).to_toml())
    shutil.copy(corpus / "tokenizer.json", run_dir / "tokenizer.json")
    save_weights(model, run_dir / "model.safetensors", step=120)

    run = load_run(run_dir)
    circuit = prune_task(run, TASK, PruneConfig(**PRUNE), progress=False)
    save_circuit(circuit, root / "circuits" / f"{TASK}.json")


@pytest.fixture
def circuit_file(workspace, tmp_path) -> Path:
    """A private copy of the pruned circuit file (tests write into it)."""
    dst = tmp_path / "circuit.json"
    shutil.copy(workspace["circuit"], dst)
    return dst


@pytest.fixture(scope="session")
def workspace_prune_args() -> list[str]:
    """`prune` options that reproduce the workspace circuit's settings (PRUNE) on the command line."""
    args = ["--target-loss", str(PRUNE["target_loss"])]
    for k, v in PRUNE.items():
        if k != "target_loss":
            args.append(f"--set={k}={str(v).lower() if isinstance(v, bool) else v}")
    return args
