"""Hyperparameter search over pruning settings with optuna; keeps the circuit with the fewest edges.

Trials run in batches of `jobs` worker processes (one torch thread each; `jobs <= 1` runs
them in this process, also on one thread) and are told to the seeded TPE sampler in trial
order, so the search is deterministic given the seed whatever the timing of the workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sparsecircuits.core.circuit import Circuit, circuit_from_json
from sparsecircuits.errors import UserError
from sparsecircuits.prune.config import PruneConfig

# Search ranges (ours; METHOD section 5 names the knobs, the paper does not publish ranges).
LR_RANGE = (1e-3, 3e-2)
K_COEF_RANGE = (1e-5, 1e-3)
STEPS_FACTOR = (0.5, 2.0)


def suggest(trial: Any, base: PruneConfig) -> PruneConfig:
    """The trial's config: base settings with lr, k_coef and steps drawn from the search ranges."""
    lo = max(10, int(base.steps * STEPS_FACTOR[0]))
    hi = max(lo + 1, int(base.steps * STEPS_FACTOR[1]))
    return base.replace(
        lr=trial.suggest_float("lr", *LR_RANGE, log=True),
        k_coef=trial.suggest_float("k_coef", *K_COEF_RANGE, log=True),
        steps=trial.suggest_int("steps", lo, hi, log=True),
        search_trials=0,
    )


def _worker(
    run_path: str, task: str, cfg_dict: dict[str, Any], corpus_dir: str | None
) -> dict[str, Any] | str:
    """Run one pruning trial (in a worker or this process); a circuit dict, or why it failed."""
    import torch

    from sparsecircuits.prune.pipeline import prune_task
    from sparsecircuits.train import load_run

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # results must not depend on how many trials share the machine
    try:
        run = load_run(run_path)
        return prune_task(
            run, task, PruneConfig(**cfg_dict), progress=False, corpus_dir=corpus_dir
        ).to_json()
    except UserError as e:
        return str(e)
    finally:
        torch.set_num_threads(threads)


def search_task(
    run_path: str,
    task: str,
    base: PruneConfig,
    n_trials: int,
    jobs: int = 2,
    corpus_dir: str | None = None,
) -> Circuit:
    """Run `n_trials` pruning trials and return the circuit with the fewest edges at the target."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    sampler = optuna.samplers.TPESampler(seed=base.seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    best: tuple[tuple[int, int, int], dict[str, Any]] | None = None
    history: list[dict[str, Any]] = []
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) if jobs > 1 else None
    with (
        pool or contextlib.nullcontext(),
        tqdm(total=n_trials, desc=f"search {task}", unit="trial") as bar,
    ):
        done = 0
        while done < n_trials:
            trials = [study.ask() for _ in range(min(jobs, n_trials - done))]
            cfgs = [suggest(t, base) for t in trials]
            if pool is not None:
                futures = [
                    pool.submit(_worker, run_path, task, c.to_dict(), corpus_dir) for c in cfgs
                ]
                outs = [f.result() for f in futures]
            else:
                outs = [_worker(run_path, task, c.to_dict(), corpus_dir) for c in cfgs]
            for trial, cfg, out in zip(trials, cfgs, outs, strict=True):
                rec = {
                    "trial": trial.number,
                    "lr": cfg.lr,
                    "k_coef": cfg.k_coef,
                    "steps": cfg.steps,
                }
                if isinstance(out, str):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    rec["error"] = out
                else:
                    edges, nodes = out["counts"]["edges"], out["counts"]["nodes"]
                    study.tell(trial, float(edges))
                    rec.update(edges=edges, nodes=nodes, loss=out["losses"]["circuit"])
                    key = (edges, nodes, trial.number)
                    if best is None or key < best[0]:
                        best = (key, out)
                history.append(rec)
                bar.update(1)
            done += len(trials)
    if best is None:
        reasons = {h.get("error", "") for h in history}
        raise UserError(f"no search trial on {task} found a circuit: {'; '.join(sorted(reasons))}")
    circuit = circuit_from_json(best[1], Path(f"search trial {best[0][2]}"))
    circuit.hyperparameters["search"] = {
        "trials": n_trials,
        "jobs": jobs,
        "seed": base.seed,
        "best_trial": best[0][2],
        "objective": "edges at the target loss",
        "ranges": {"lr": LR_RANGE, "k_coef": K_COEF_RANGE, "steps_factor": STEPS_FACTOR},
        "history": history,
    }
    circuit.time_seconds = round(time.perf_counter() - t0, 3)
    return circuit
