"""`validate_circuit`: run registered checks on a circuit's held-out pairs and write the verdicts into its file."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sparsecircuits.core.circuit import Circuit, Validation, read_circuit, save_circuit
from sparsecircuits.core.run import circuit_task, load_circuit_run
from sparsecircuits.errors import UserError
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.validate import verdicts
from sparsecircuits.validate.checks import REGISTRY, CheckContext
from sparsecircuits.validate.config import ValidationConfig

Log = Callable[[str], None]


def prune_config_of(circuit: Circuit) -> PruneConfig:
    """The circuit's pruning settings as a PruneConfig.

    Keys this version of PruneConfig does not know (search bookkeeping, settings of other
    versions) are left out, so an older circuit file still validates.
    """
    known = {f.name for f in dataclasses.fields(PruneConfig)}
    hp = {k: v for k, v in circuit.hyperparameters.items() if k in known}
    hp.update(target_loss=circuit.target_loss, ablation=circuit.ablation, seed=circuit.seed)
    return PruneConfig.from_dict(hp)


def settings_key(circuit: Circuit, seed: int, cfg: ValidationConfig) -> str:
    """Fingerprint of what the results depend on; finished checks are reused only if it matches."""
    task = dataclasses.asdict(circuit.task)
    blob = json.dumps(
        {
            "weights": circuit.model.weights_sha256,
            "nodes": circuit.node_ids,
            "task": {k: v for k, v in task.items() if v is not None},
            "hp": circuit.hyperparameters,
            "target": circuit.target_loss,
            "seed": seed,
            "cfg": cfg.to_dict(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def validate_circuit(
    circuit_path: str | Path,
    checks: Sequence[str] | None = None,
    run_dir: str | Path | None = None,
    seed: int | None = None,
    cfg: ValidationConfig | None = None,
    progress: bool = True,
    fresh: bool = False,
    log: Log | None = None,
    corpus_dir: str | Path | None = None,
) -> Validation:
    """Run `checks` (default: all registered) on a circuit file, write its `validation` and return it.

    Finished checks are written after each one; rerunning with the same settings reuses them
    (unless `fresh`), so an interrupted validation resumes, and checks run earlier with the
    same settings stay in the file. `corpus_dir` overrides the run's corpus (for mean activations).
    """
    t0 = time.perf_counter()
    cfg = cfg or ValidationConfig()
    order = list(REGISTRY)  # registration order, user-registered checks included
    wanted = list(order if checks is None else checks)
    unknown = [c for c in wanted if c not in REGISTRY]
    if unknown:
        raise UserError(f"unknown check {unknown[0]!r}; choose from {', '.join(order)}.")
    say = log or (lambda msg: None)
    path = Path(circuit_path)
    circuit = read_circuit(path)
    seed = circuit.seed if seed is None else int(seed)
    key = settings_key(circuit, seed, cfg)
    old = circuit.validation
    reuse = {} if fresh or old is None or old.settings_key != key else dict(old.checks)
    ctx = CheckContext(
        circuit=circuit,
        path=path,
        run=load_circuit_run(circuit, path, run_dir),
        task=circuit_task(circuit, path),
        prune=prune_config_of(circuit),
        cfg=cfg,
        seed=seed,
        corpus_dir=Path(corpus_dir) if corpus_dir is not None else None,
        progress=progress,
    )
    ctx.run.model.eval()
    ctx.keep  # noqa: B018 - check the node ids against the model before any work
    results = {c: r for c, r in reuse.items() if c in REGISTRY}
    checks_run = [c for c in order if c in results or c in wanted]

    def write(final: bool) -> Validation:
        record = Validation(
            checks={c: results[c] for c in order if c in results},
            verdict=verdicts.overall_verdict(results) if final else "incomplete",
            checks_run=checks_run,
            seed=seed,
            config=cfg.to_dict(),
            settings_key=key,
            time_seconds=round(time.perf_counter() - t0, 3),
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        )
        latest = read_circuit(path)  # keep whatever else changed in the file meanwhile
        latest.validation = record
        save_circuit(latest, path)
        return record

    for name in wanted:
        if name in results:
            say(f"{name}: reused from the previous run with the same settings")
            continue
        say(f"{name}: running")
        t_check = time.perf_counter()
        rec = REGISTRY[name](ctx)
        rec.seconds = round(time.perf_counter() - t_check, 3)
        results[name] = rec
        write(final=False)
    return write(final=True)


def format_table(validation: Validation) -> str:
    """The printed summary: check, measured, threshold, verdict; then the overall verdict."""
    rows = [("check", "measured", "threshold", "verdict")]
    for name, rec in validation.checks.items():
        rows.append((name, rec.summary, rec.threshold, "PASS" if rec.passed else "FAIL"))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    lines = [f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[3]:<7}  {r[2]}" for r in rows]
    lines.insert(1, "-" * min(160, max(len(x) for x in lines)))
    lines.append(f"overall verdict: {validation.verdict.upper()}")
    return "\n".join(lines)
