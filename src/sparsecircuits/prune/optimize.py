"""Mask training: learn one tau per node so few nodes stay on and the task loss stays low (METHOD section 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

from sparsecircuits.cli import threads_label
from sparsecircuits.core.ablation import Ablator, soft_interventions
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.mask import heaviside_mask, init_tau

if TYPE_CHECKING:
    from sparsecircuits.model import SparseGPT
    from sparsecircuits.tasks.base import Pair


def train_masks(
    model: SparseGPT,
    train_pairs: list[Pair],
    pad_id: int,
    widths: dict[str, int],
    ablator: Ablator,
    cfg: PruneConfig,
    progress: bool = True,
) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Train the node mask logits; returns (tau over all nodes in site order, per-step log)."""
    from sparsecircuits.tasks import TaskBatch, task_loss

    gen = torch.Generator().manual_seed(cfg.seed)
    n_nodes = sum(widths.values())
    tau = torch.nn.Parameter(init_tau(n_nodes, cfg.tau_init_mean, cfg.tau_init_std, gen))
    opt = torch.optim.AdamW(
        [tau], lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(cfg.beta1, cfg.beta2)
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1.0 - step / cfg.steps))
    sites = list(widths)
    sizes = [widths[s] for s in sites]
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:  # only the masks learn; skipping weight grads halves the backward
        p.requires_grad_(False)
    log: list[dict[str, float]] = []
    n_batch = min(cfg.batch_size, len(train_pairs))
    try:
        bar = tqdm(
            range(cfg.steps),
            desc=f"mask training ({threads_label()})",
            unit="step",
            disable=not progress,
            leave=False,
        )
        for step in bar:
            pick = torch.randperm(len(train_pairs), generator=gen)[:n_batch].tolist()
            batch = TaskBatch.from_pairs([train_pairs[i] for i in pick], pad_id).crop()
            m = heaviside_mask(tau, cfg.temperature)
            masks = dict(zip(sites, torch.split(m, sizes), strict=True))
            pass_losses = []
            for a in ablator.passes():  # one pass, or a mixture's mean- and resample-ablated ones
                a.draw(*batch.tokens.shape)
                with model.intervene(soft_interventions(masks, a)):
                    logits = model(batch.tokens, last_pos=batch.last_pos)
                pass_losses.append(task_loss(logits, batch.target, batch.other))
            t_loss = torch.stack(pass_losses).mean()
            kept = m.sum()
            loss = t_loss + cfg.k_coef * kept
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                tau.clamp_(-1.0, 1.0)
            rec = {"step": step, "task_loss": t_loss.item(), "kept": kept.item()}
            log.append(rec)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{rec['task_loss']:.3f}", kept=int(rec["kept"]))
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return tau.detach().clone(), log
