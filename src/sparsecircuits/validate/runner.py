"""`validate_circuit`: run the checks on a circuit file's held-out pairs and write the verdicts into it."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.prune.circuit import read_circuit_json
from sparsecircuits.validate import verdicts
from sparsecircuits.validate.config import CHECKS, ValidationConfig

Log = Callable[[str], None]


def resolve_run_dir(raw: dict[str, Any], circuit_path: Path, run_dir: str | Path | None) -> Path:
    """The run folder to load: `--run` if given, else the circuit's, as given or beside the circuit file."""
    if run_dir is not None:
        p = Path(run_dir)
        if not p.is_dir():
            raise UserError(
                f"run folder {p} given with --run does not exist; pass the run the circuit was pruned from."
            )
        return p
    named = str(raw.get("model", {}).get("run", ""))
    candidates = [Path(named), circuit_path.parent / named] if named else []
    for p in candidates:
        if (p / "model.safetensors").is_file():
            return p
    raise UserError(
        f"the run folder {named or '(none)'} named by circuit {circuit_path} does not exist; "
        "pass --run with the folder of the model it was pruned from."
    )


def _prune_config(raw: dict[str, Any]) -> Any:
    """The circuit's pruning settings as a PruneConfig.

    Keys this version of PruneConfig does not know (search bookkeeping, settings of other
    versions) are left out, so an older circuit file still validates.
    """
    import dataclasses

    from sparsecircuits.prune.config import PruneConfig

    known = {f.name for f in dataclasses.fields(PruneConfig)}
    hp = {k: v for k, v in dict(raw.get("hyperparameters") or {}).items() if k in known}
    hp.setdefault("target_loss", raw["target_loss"])
    hp.setdefault("ablation", raw["ablation"])
    hp.setdefault("seed", raw.get("seed", 0))
    return PruneConfig.from_dict(hp)


def _settings_key(raw: dict[str, Any], seed: int, cfg: ValidationConfig) -> str:
    """Fingerprint of what the results depend on; finished checks are reused only if it matches."""
    blob = json.dumps(
        {
            "weights": raw["model"].get("weights_sha256"),
            "nodes": [n["id"] for n in raw["nodes"]],
            "task": raw["task"],
            "hp": raw.get("hyperparameters"),
            "target": raw["target_loss"],
            "seed": seed,
            "cfg": cfg.to_dict(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def validate_circuit(
    circuit_path: str | Path,
    checks: list[str] | tuple[str, ...] = CHECKS,
    run_dir: str | Path | None = None,
    seed: int | None = None,
    cfg: ValidationConfig | None = None,
    progress: bool = True,
    fresh: bool = False,
    log: Log | None = None,
    corpus_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Run `checks` on a circuit file, write the `validation` object into it, and return that object.

    Finished checks are written after each one; rerunning with the same settings reuses them
    (unless `fresh`), so an interrupted validation resumes, and checks run earlier with the
    same settings stay in the file. `corpus_dir` overrides the run's corpus (for mean activations).
    """
    from sparsecircuits.prune.ablation import Ablator, batch_logits
    from sparsecircuits.prune.optimize import crop
    from sparsecircuits.prune.pipeline import load_stats
    from sparsecircuits.tasks import TaskBatch, get_task, task_loss
    from sparsecircuits.train import load_run
    from sparsecircuits.validate import controls
    from sparsecircuits.validate.binarise import binarise_circuit
    from sparsecircuits.validate.nodes import (
        circuit_keep,
        complement,
        count,
        random_like,
        stochastic_draws,
    )

    t0 = time.perf_counter()
    cfg = cfg or ValidationConfig()
    say = log or (lambda msg: None)
    path = Path(circuit_path)
    raw = read_circuit_json(path)
    seed = int(raw.get("seed", 0)) if seed is None else int(seed)
    key = _settings_key(raw, seed, cfg)
    old = raw.get("validation") or {}
    reuse: dict[str, Any] = (
        {} if fresh or old.get("settings_key") != key else dict(old.get("checks", {}))
    )

    run = load_run(resolve_run_dir(raw, path, run_dir))
    want_sha = raw["model"].get("weights_sha256")
    if want_sha and want_sha != run.weights_sha256:
        raise UserError(
            f"the weights in {run.path} differ from those circuit {path} was pruned from (hash mismatch); "
            "pass --run with the original run folder."
        )
    model = run.model.eval()
    pcfg = _prune_config(raw)
    target = float(raw["target_loss"])
    task_name = raw["task"]["name"]
    task = get_task(task_name)
    widths = {s: int(model.site_width(s)) for s in model.site_names()}
    circuit = circuit_keep(widths, [n["id"] for n in raw["nodes"]])
    n_nodes = count(circuit)
    n_edges = int(raw["counts"].get("edges", len(raw["edges"])))

    tok = run.tokenizer
    n_heldout = int(raw["task"].get("n_heldout", pcfg.n_heldout))
    task_seed = int(raw["task"].get("seed", pcfg.seed))
    heldout = crop(
        TaskBatch.from_pairs(
            task.pairs(tok, n_heldout, split="heldout", seed=task_seed, max_len=pcfg.max_len),
            tok.eot_id,
        )
    )
    stats_cache: dict[str, Any] = {}

    def stats() -> Any:
        # Mean and resample statistics of the real model, shared with pruning's cache.
        if "s" not in stats_cache:
            stats_cache["s"] = load_stats(
                run, pcfg.replace(ablation="mean"), corpus_dir or run.corpus_dir
            )
        return stats_cache["s"]

    def loss(keep: dict[str, torch.Tensor], kind: str, s: int = seed) -> float:
        st = stats() if kind != "zero" else None
        ab = Ablator(kind, st.means if st else None, st.bank if st else None, s)
        logits = batch_logits(model, heldout, keep, ab, cfg.batch_size)
        return float(task_loss(logits, heldout.target, heldout.other))

    results: dict[str, dict[str, Any]] = {c: r for c, r in reuse.items() if c in CHECKS}
    checks_run = [c for c in CHECKS if c in results or c in checks]
    record: dict[str, Any] = {}

    def write(final: bool) -> None:
        record.clear()
        record.update(
            {
                "checks": {c: results[c] for c in CHECKS if c in results},
                "verdict": verdicts.overall_verdict(results) if final else "incomplete",
                "checks_run": checks_run,
                "seed": seed,
                "config": cfg.to_dict(),
                "settings_key": key,
                "time_seconds": round(time.perf_counter() - t0, 3),
                "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
        )
        fresh_raw = read_circuit_json(path)
        fresh_raw["validation"] = dict(record)
        atomic_write_json(path, fresh_raw)

    full_loss: float | None = None

    def full() -> float:
        nonlocal full_loss
        if full_loss is None:
            full_loss = loss({}, "mean")
        return full_loss

    for name in checks:
        if name in results:
            say(f"{name}: reused from the previous run with the same settings")
            continue
        say(f"{name}: running")
        t_check = time.perf_counter()
        if name == "sufficiency":
            rec = verdicts.judge_sufficiency(
                loss(circuit, "mean"), loss(circuit, "resample"), target, cfg
            )
            # For reference only: a random node set of the same size, mean-ablated elsewhere.
            rec["loss_random_same_size"] = verdicts._r(loss(random_like(circuit, seed), "mean"))
            reported = (raw.get("losses") or {}).get("circuit")
            if (
                raw["ablation"] == "mean"
                and reported is not None
                and abs(reported - rec["loss_mean"]) > 1e-3
            ):
                rec["note"] = (
                    f"pruning reported {reported:.4f} for this circuit; the held-out pairs or the mean "
                    "activations changed since (task generator, corpus or cache)"
                )
            if raw["ablation"] == "zero":
                rec["loss_zero"] = verdicts._r(loss(circuit, "zero"))
        elif name == "necessity":
            rec = verdicts.judge_necessity(loss(complement(circuit), "mean"), full(), cfg)
        elif name == "stochastic":
            draws = stochastic_draws(circuit, cfg.stochastic_draws, cfg.stochastic_fraction, seed)
            losses = [
                loss(complement(d), "resample", seed + i)
                for i, d in enumerate(
                    tqdm(
                        draws,
                        desc="stochastic ablation",
                        unit="draw",
                        disable=not progress,
                        leave=False,
                    )
                )
            ]
            rec = verdicts.judge_stochastic(losses, target, cfg)
        elif name == "binarisation":
            fit_pairs = task.pairs(
                tok, cfg.binarise_fit_pairs, split="train", seed=task_seed, max_len=pcfg.max_len
            )
            fit = crop(TaskBatch.from_pairs(fit_pairs, tok.eot_id))
            c_loss, b_loss, per_node = binarise_circuit(
                model,
                circuit,
                fit,
                heldout,
                means=stats().means,
                fractions=cfg.binarise_fractions,
                batch_size=cfg.batch_size,
            )
            rec = verdicts.judge_binarisation(b_loss, c_loss, target, cfg, n_nodes)
            rec["per_node"] = per_node
        elif name in ("control_random_init", "control_shuffled"):
            if name == "control_random_init":
                res = controls.control_random_init(run, task_name, pcfg, seed, progress, corpus_dir)
                kind = f"random-init model (seed {seed}), same config and weight sparsity"
            else:
                st = stats() if pcfg.ablation != "zero" else None
                res = controls.control_shuffled(run, task_name, pcfg, st, progress)
                kind = f"task {task_name}__shuffled on the real model"
            rec = verdicts.judge_control(
                kind=kind,
                reached_target=res.reached_target,
                nodes=res.nodes,
                edges=res.edges,
                real_nodes=n_nodes,
                real_edges=n_edges,
                full_model_loss=res.full_model_loss,
                achieved_loss=res.achieved_loss,
                reason=res.reason,
                cfg=cfg,
            )
            if "search" in (raw.get("hyperparameters") or {}):
                rec["note"] = (
                    "the real circuit came from a hyperparameter search; the control used its chosen settings once"
                )
        else:  # parse_checks only lets known names through
            raise UserError(f"unknown check {name!r}; see `sparsecircuits validate --help`.")
        rec["seconds"] = round(time.perf_counter() - t_check, 3)
        results[name] = rec
        write(final=False)
    write(final=True)
    return dict(record)


def format_table(validation: dict[str, Any]) -> str:
    """The printed summary: check, measured, threshold, verdict; then the overall verdict."""
    rows = [("check", "measured", "threshold", "verdict")]
    for name, rec in validation["checks"].items():
        rows.append(
            (
                name,
                verdicts.measured_text(name, rec),
                rec["threshold"],
                "PASS" if rec["passed"] else "FAIL",
            )
        )
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[3]:<7}  {r[2]}" for r in rows]
    lines.insert(1, "-" * min(160, max(len(x) for x in lines)))
    lines.append(f"overall verdict: {validation['verdict'].upper()}")
    return "\n".join(lines)
