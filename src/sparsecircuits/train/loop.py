"""The training loop: sparse projection + sharkfin schedule, eval, metrics, checkpoints, resume, DDP."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from sparsecircuits import fileio, locks
from sparsecircuits.cli import threads_label
from sparsecircuits.errors import UserError
from sparsecircuits.memory import reuse_freed_memory
from sparsecircuits.train import checkpoint as ckpt
from sparsecircuits.train import distributed as dd
from sparsecircuits.train import precision as prec
from sparsecircuits.train.config import RunConfig
from sparsecircuits.train.schedule import fraction_at, lr_at
from sparsecircuits.train.sparsity import densities, project_to_sparsity

EVAL_SEED_OFFSET = 1_000_003  # the val batches use their own fixed seed, same at every eval


def build_model(config: RunConfig) -> nn.Module:
    """A freshly initialised SparseGPT; the init depends only on `train.seed`."""
    from sparsecircuits.model import SparseGPT

    try:
        return SparseGPT(config.model, seed=config.train.seed)
    except (ValueError, TypeError) as e:
        raise UserError(f"invalid [model] config ({e}); fix the value.") from e


def make_optimizer(model: nn.Module, config: RunConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices (dim >= 2) only."""
    t = config.train
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": t.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=t.lr, betas=tuple(t.betas), eps=t.eps, foreach=True)


def _resolve_corpus(config: RunConfig) -> tuple[Path, Any]:
    """Check the corpus folder and tokenizer; record its absolute path and tokenizer hash."""
    from sparsecircuits.corpus import Tokenizer

    corpus = Path(config.train.corpus).expanduser()
    if not (corpus / "manifest.json").is_file() or not (corpus / ckpt.TOKENIZER_FILE).is_file():
        raise UserError(
            f"corpus folder {corpus} has no manifest.json/tokenizer.json; build it with "
            "`sparsecircuits corpus build` or set train.corpus."
        )
    tokenizer = Tokenizer.load(corpus / ckpt.TOKENIZER_FILE)
    digest = tokenizer.content_hash()
    if config.train.tokenizer_hash and config.train.tokenizer_hash != digest:
        raise UserError(
            f"the tokenizer of corpus {corpus} has changed since this run started "
            f"({config.train.tokenizer_hash[:12]} -> {digest[:12]}); point train.corpus at the original corpus."
        )
    config.train.corpus = str(corpus.resolve())
    config.train.tokenizer_hash = digest
    if tokenizer.vocab_size > config.model.vocab_size:
        raise UserError(
            f"the corpus tokenizer has {tokenizer.vocab_size} tokens but model.vocab_size is "
            f"{config.model.vocab_size}; set model.vocab_size={tokenizer.vocab_size}."
        )
    return corpus.resolve(), tokenizer


def _lm_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    sampler: Any,
    n_batches: int,
    device: torch.device,
    info: dd.DistInfo,
    precision: prec.Precision,
) -> tuple[float, list[int]]:
    """Mean val loss over `n_batches` fixed batches, and dead MLP neurons per layer.

    A neuron is dead if its `mlp.post_act` value is zero at every position of every eval batch.
    """
    was_training = model.training
    model.eval()
    sites = [s for s in model.site_names() if s.endswith(".mlp.post_act")]
    alive = [torch.zeros(model.site_width(s), dtype=torch.float32, device=device) for s in sites]
    total = torch.zeros(2, dtype=torch.float64, device=device)
    for b in range(n_batches):
        x, y = sampler.batch(b)
        x, y = x.to(device), y.to(device)
        with prec.autocast(device, precision):
            logits, cache = model.run_with_cache(x, sites=sites)
        total[0] += _lm_loss(logits, y).double() * y.numel()
        total[1] += y.numel()
        for a, s in zip(alive, sites, strict=True):
            a.masked_fill_(cache[s].ne(0).flatten(0, -2).any(0), 1.0)
    dd.all_reduce_(total, info, "sum")
    for a in alive:
        dd.all_reduce_(a, info, "max")
    model.train(was_training)
    dead = [int((a == 0).sum()) for a in alive]
    return float(total[0] / total[1]), dead


class TrainHook(Protocol):
    """The loop's one extension point: parameters trained beside the model and the loss that uses them.

    `module` is optimised with the model (same AdamW groups and learning-rate schedule, never
    sparsified), saved as `weights_file` in the run folder at every checkpoint and kept in the
    training state, so resume stays bit-exact. `loss` replaces the language-model loss: it gets
    the model being trained and the step's batch, and returns the total loss and its named terms
    (logged as `loss_NAME` in metrics.jsonl). The bridged trainer (sparsecircuits.bridge) is one.
    """

    module: nn.Module
    weights_file: str

    def loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


class _HookedObjective(nn.Module):
    """The model and a hook's module as one module, so DDP syncs both; forward is the hook's loss."""

    def __init__(self, model: nn.Module, hook: TrainHook) -> None:
        super().__init__()
        self.model, self.extra = model, hook.module
        self._hook = hook

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._hook.loss(self.model, x, y, step)


def _read_metrics(path: Path, upto_step: int) -> list[dict]:
    if not path.is_file():
        return []
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [r for r in rows if r.get("step", 0) <= upto_step]


def _write_metrics(path: Path, rows: list[dict]) -> None:
    fileio.atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def train(
    config: RunConfig,
    out_dir: str | Path,
    resume: bool = False,
    stop_after: int | None = None,
    hook: TrainHook | None = None,
) -> dict[str, Any]:
    """Train (or resume) a run into `out_dir`; returns the last metrics row.

    `stop_after` ends the loop after that step with a checkpoint, as an interruption would;
    `hook` adds trained parameters and replaces the loss (see TrainHook).
    """
    out_dir = Path(out_dir)
    t = config.train
    t.validate(getattr(config.model, "block_size", None))
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file; give a folder for the run.")
    # one writer per run folder (under torchrun only rank 0 writes, so only it locks)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    with locks.writing(out_dir) if main_rank else contextlib.nullcontext():
        return _train_locked(config, out_dir, resume, stop_after, hook)


def _train_locked(
    config: RunConfig, out_dir: Path, resume: bool, stop_after: int | None, hook: TrainHook | None
) -> dict[str, Any]:
    from sparsecircuits.corpus import BatchSampler, TokenData

    t = config.train
    has_state = (out_dir / ckpt.STATE_FILE).is_file()
    if not resume and ckpt.holds_run(out_dir):
        raise UserError(
            f"{out_dir} already holds a run; add --resume to continue it or choose another --out."
        )
    corpus_dir, _tokenizer = _resolve_corpus(config)

    info = dd.setup(t.device)
    try:
        return _train(
            config,
            out_dir,
            resume and has_state,
            stop_after,
            info,
            corpus_dir,
            TokenData,
            BatchSampler,
            hook,
        )
    finally:
        dd.teardown(info)


def _train(
    config: RunConfig,
    out_dir: Path,
    resume: bool,
    stop_after: int | None,
    info: dd.DistInfo,
    corpus_dir: Path,
    TokenData: Any,  # noqa: N803
    BatchSampler: Any,  # noqa: N803
    hook: TrainHook | None = None,
) -> dict[str, Any]:
    from tqdm import tqdm

    t = config.train
    device = info.device
    if t.batch_size % info.world_size:
        raise UserError(
            f"train.batch_size ({t.batch_size}) is not divisible by the {info.world_size} processes; "
            "change batch_size or --nproc_per_node."
        )
    try:
        train_data = TokenData(corpus_dir, "train")
        val_data = TokenData(corpus_dir, "val")
        sampler = BatchSampler(
            train_data, t.batch_size, t.seq_len, t.seed, info.rank, info.world_size
        )
        val_sampler = BatchSampler(
            val_data, t.batch_size, t.seq_len, t.seed + EVAL_SEED_OFFSET, info.rank, info.world_size
        )
    except (ValueError, FileNotFoundError) as e:
        raise UserError(
            f"cannot read corpus {corpus_dir} ({e}); rebuild it or set train.corpus."
        ) from e

    if device.type == "cpu":
        reuse_freed_memory()
    model = build_model(config)
    model.to(device)
    if hook is not None:
        hook.module.to(device)
    # with a hook, its parameters join the model's AdamW groups (after the model's, in order)
    optimizer = make_optimizer(
        model if hook is None else nn.ModuleList([model, hook.module]), config
    )
    extra = None if hook is None else (hook.weights_file, hook.module)
    start = 0
    metrics_path = out_dir / ckpt.METRICS_FILE
    rows: list[dict] = []
    if resume:
        state = ckpt.load_train_state(out_dir)
        try:
            model.load_state_dict(state["model"], strict=True)
            optimizer.load_state_dict(state["optimizer"])
            if hook is not None:
                hook.module.load_state_dict(state["extra"], strict=True)
        except (RuntimeError, ValueError, KeyError) as e:
            raise UserError(
                f"{out_dir / ckpt.STATE_FILE} does not match the config ({e}); resume with the run's own config."
            ) from e
        torch.set_rng_state(state["torch_rng"])
        start = int(state["step"])
        if info.is_main and start > 0:  # from step 0 the first evaluation is redone
            rows = _read_metrics(metrics_path, start)
    raw_model = model
    train_model: nn.Module = model
    if t.compile:
        train_model = torch.compile(train_model)
    if hook is not None:  # the hook calls the model itself (torch.compile then plays no part)
        train_model = _HookedObjective(raw_model, hook)
    if info.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        train_model = DDP(train_model, device_ids=[device.index] if device.type == "cuda" else None)

    precision, why = prec.resolve(device, t.autocast_bf16)
    if resume:
        was = ckpt.load_run_config(out_dir).train
        # runs from before the field: CPUs trained in fp32 then, GPUs as autocast_bf16 said
        on_gpu = was.device.startswith("cuda") or (was.device == "auto" and device.type == "cuda")
        was_precision = was.precision or ("bf16" if on_gpu and was.autocast_bf16 else "fp32")
        if was_precision == "fp32" and precision == "bf16":
            # every machine can hold fp32: the run continues as it began, bit-exact
            precision, why = "fp32", "the run being resumed trained in fp32"
        if was_precision != precision:
            raise UserError(
                f"{out_dir} was trained with train.precision = {was_precision!r} but would continue "
                f"in {precision!r} here ({why}); resume it where it ran, or train into a new --out."
            )
    t.precision = precision
    if info.is_main:
        print(f"precision: {precision} ({why})", file=sys.stderr)
    params = [p for p in raw_model.parameters() if p.requires_grad]
    if hook is not None:
        params += [p for p in hook.module.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    max_norm = t.grad_rms_clip * math.sqrt(n_params)  # RMS <= clip  <=>  L2 norm <= clip * sqrt(N)
    tokens_per_step = t.batch_size * t.seq_len

    def checkpoint(step: int, first: bool = False) -> None:
        if info.is_main and first and not (out_dir.is_dir() and any(out_dir.iterdir())):
            # the first checkpoint appears with the folder, whole: a kill before the rename
            # leaves only a staging folder beside it, which the next start removes
            with fileio.staging_dir(out_dir) as tmp:
                ckpt.save_checkpoint(tmp, raw_model, optimizer, config, step, corpus_dir, extra)
                _write_metrics(tmp / ckpt.METRICS_FILE, rows)
        elif info.is_main:
            ckpt.save_checkpoint(out_dir, raw_model, optimizer, config, step, corpus_dir, extra)
            _write_metrics(metrics_path, rows)
        dd.barrier(info)

    if start == 0:
        val_loss, dead = evaluate(raw_model, val_sampler, t.eval_batches, device, info, precision)
        rows.append({"step": 0, "val_loss": val_loss, "dead_neurons": dead, "fraction": 1.0})
        checkpoint(0, first=not resume)

    bar = tqdm(
        total=t.steps,
        initial=start,
        desc=f"train ({threads_label()})",
        disable=not info.is_main,
        dynamic_ncols=True,
    )
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    loss_n = 0
    term_sums: dict[str, torch.Tensor] = {}
    last_time = started = time.perf_counter()
    last_step = start
    row: dict[str, Any] = rows[-1] if rows else {}
    train_model.train()
    for step in range(start + 1, t.steps + 1):
        x, y = sampler.batch(step - 1)  # the data position is the step: a pure function of it
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        lr = lr_at(step, t.steps, t.lr, t.warmup_frac, t.target_fraction, t.anneal_frac)
        for group in optimizer.param_groups:
            group["lr"] = lr
        terms: dict[str, torch.Tensor] = {}
        with prec.autocast(device, precision):
            if hook is None:
                loss = _lm_loss(train_model(x), y)
            else:
                loss, terms = train_model(x, y, step)
        for name, value in terms.items():
            term_sums[name] = term_sums.get(name, 0.0) + value.detach().double()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
        optimizer.step()
        fraction = fraction_at(step, t.steps, t.target_fraction, t.anneal_frac)
        project_to_sparsity(raw_model, fraction, t.min_row_nonzeros, t)
        loss_sum += loss.detach().double()
        loss_n += 1

        do_eval = step % t.eval_every == 0 or step == t.steps
        do_log = do_eval or step % t.log_every == 0
        if do_log:
            mean_loss = dd.all_reduce_(loss_sum / loss_n, info, "sum").item() / info.world_size
            now = time.perf_counter()
            row = {
                "step": step,
                "train_loss": mean_loss,
                "lr": lr,
                "fraction": fraction,
                "grad_rms": float(grad_norm) / math.sqrt(n_params),
                "tokens_per_s": (step - last_step) * tokens_per_step / max(now - last_time, 1e-9),
            }
            for name, total in term_sums.items():
                row[f"loss_{name}"] = (
                    dd.all_reduce_(total / loss_n, info, "sum").item() / info.world_size
                )
            if do_eval:
                row["val_loss"], row["dead_neurons"] = evaluate(
                    raw_model, val_sampler, t.eval_batches, device, info, precision
                )
            if info.is_main:
                row["density"] = densities(raw_model, t)
                rows.append(row)
                _write_metrics(metrics_path, rows)
                bar.set_postfix(
                    loss=f"{mean_loss:.3f}",
                    **({"val": f"{row['val_loss']:.3f}"} if "val_loss" in row else {}),
                    f=f"{fraction:.3f}",
                )
            loss_sum.zero_()
            loss_n = 0
            term_sums.clear()
            last_time, last_step = time.perf_counter(), step
        bar.update(1)
        out_of_time = t.max_minutes > 0 and time.perf_counter() - started > 60 * t.max_minutes
        if t.max_minutes > 0 and info.world_size > 1:  # every rank stops at the same step
            flag = torch.tensor(float(out_of_time), device=device)
            out_of_time = bool(dd.all_reduce_(flag, info, "max").item())
        if out_of_time and info.is_main:
            print(f"train.max_minutes = {t.max_minutes} reached at step {step}", file=sys.stderr)
        if step % t.checkpoint_every == 0 or step in (t.steps, stop_after) or out_of_time:
            checkpoint(step)
        if step == stop_after or out_of_time:
            break
    bar.close()
    return row
