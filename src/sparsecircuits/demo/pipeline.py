"""The demo pipeline. Every stage writes into `out/` and is skipped when its output exists."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparsecircuits import fileio
from sparsecircuits.errors import UserError
from sparsecircuits.prune.config import PruneConfig

# Shipped with the package: a tiny-sparse run trained longer than the 5-minute preset.
BUNDLED_RUN = Path(__file__).resolve().parent.parent / "bundled" / "tiny-sparse"
PRESET = Path("configs") / "tiny-sparse.toml"
# Tried first: the two tasks whose circuits the paper draws; then the rest of the suite.
PREFERRED_TASKS = ("single_double_quote", "bracket_counting")


@dataclass
class DemoOptions:
    """What the demo does; the defaults are `make demo`."""

    out: Path = Path("demo")
    tasks: list[str] | None = None  # None: choose automatically
    n_tasks: int = 3
    force_train: bool = False
    checks: str = "sufficiency,necessity,stochastic"
    timings: dict[str, float] = field(default_factory=dict)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextmanager
def _stage(opts: DemoOptions, name: str) -> Iterator[None]:
    _say(f"\n== {name} ==")
    t0 = time.perf_counter()
    yield
    opts.timings[name] = round(time.perf_counter() - t0, 1)
    _say(f"-- {name}: {opts.timings[name]:.1f} s")


def build_corpus_stage(out: Path, tokenizer: Path | None) -> Path:
    """The stdlib corpus under `out/corpus`, tokenized with `tokenizer` when given."""
    from sparsecircuits.corpus.build import BuildConfig, build_corpus

    corpus = out / "corpus"
    if (corpus / "manifest.json").is_file():
        _say(f"reusing {corpus}")
        return corpus
    build_corpus(BuildConfig(sources=["stdlib"], out=corpus, tokenizer=tokenizer))
    return corpus


def model_stage(out: Path, corpus: Path, force_train: bool) -> Path:
    """The run folder `out/run`: a copy of the bundled model, or tiny-sparse trained here."""
    from sparsecircuits.train import checkpoint as ckpt
    from sparsecircuits.train.config import load_config
    from sparsecircuits.train.loop import train

    run = out / "run"
    has_state = (run / ckpt.STATE_FILE).is_file()
    if (run / ckpt.WEIGHTS_FILE).is_file():
        config = ckpt.load_run_config(run)
        if not has_state or ckpt.load_train_state(run)["step"] >= config.train.steps:
            _say(f"reusing {run}")
            return run
    if BUNDLED_RUN.is_dir() and not force_train:
        config = ckpt.load_run_config(BUNDLED_RUN)
        config.train.corpus = str(corpus.resolve())
        with fileio.staging_dir(run) as tmp:
            for name in (ckpt.WEIGHTS_FILE, ckpt.TOKENIZER_FILE, "metrics.jsonl"):
                if (BUNDLED_RUN / name).is_file():
                    shutil.copy2(BUNDLED_RUN / name, tmp / name)
            fileio.atomic_write_text(tmp / ckpt.CONFIG_FILE, config.to_toml())
        _say(f"using the bundled tiny-sparse model ({BUNDLED_RUN})")
        return run
    if not PRESET.is_file():
        raise UserError(
            f"no bundled model and no preset {PRESET}; run the demo from the repository root."
        )
    config = ckpt.load_run_config(run) if has_state else load_config(PRESET)
    config.train.corpus = str(corpus.resolve())
    train(config, run, resume=has_state)
    return run


def choose_tasks(run_dir: Path, opts: DemoOptions, cfg: PruneConfig) -> list[dict[str, Any]]:
    """Score the full model on every task as pruning will see it; keep the first `n_tasks` it does.

    A task qualifies when the whole model's held-out loss on prompts of pruning's length is
    under the target: only then can a circuit meet it.
    """
    from sparsecircuits.core.evaluate import evaluate_task
    from sparsecircuits.tasks import get_task, task_names
    from sparsecircuits.train import load_run

    run = load_run(run_dir)
    names = opts.tasks or [*PREFERRED_TASKS, *(n for n in task_names() if n not in PREFERRED_TASKS)]
    rows = []
    for name in names:
        try:
            res = evaluate_task(
                run.model,
                get_task(name),
                run.tokenizer,
                n=cfg.n_heldout,
                split="heldout",
                seed=cfg.seed,
                max_len=cfg.max_len,
            )
        except UserError as e:  # the tokenizer cannot express this task
            _say(f"  {name}: skipped ({e})")
            continue
        rows.append({"task": name, **res})
        _say(f"  {name:28s} loss {res['loss']:.3f}  accuracy {res['accuracy']:.2f}")
        doable = [r for r in rows if r["loss"] <= cfg.target_loss]
        if not opts.tasks and len(doable) >= opts.n_tasks:
            break
    return rows if opts.tasks else [r for r in rows if r["loss"] <= cfg.target_loss]


def prune_stage(run_dir: Path, out: Path, tasks: list[str]) -> list[Path]:
    """One circuit file per task under `out/circuits`; finished ones are reused."""
    from sparsecircuits.core.circuit import save_circuit
    from sparsecircuits.prune import TargetUnreachable, prune_task
    from sparsecircuits.tasks import get_task
    from sparsecircuits.train import load_run

    run = load_run(run_dir)
    cfg = PruneConfig()
    paths = []
    for name in tasks:
        path = out / "circuits" / f"{get_task(name).name}.json"
        if not path.is_file():
            try:
                save_circuit(prune_task(run, name, cfg), path)
            except TargetUnreachable as e:
                _say(f"  {name}: {e}")
                continue
        paths.append(path)
    return paths


def validate_stage(paths: list[Path], checks: str) -> None:
    """Validation results written into each circuit file (resumes finished checks).

    The demo draws fewer stochastic ablations and fits binarisation on fewer pairs than
    `sparsecircuits validate` does by default, to stay within minutes on a laptop.
    """
    from sparsecircuits.validate import ValidationConfig, parse_checks, validate_circuit

    cfg = ValidationConfig(stochastic_draws=8, binarise_fit_pairs=64)
    for path in paths:
        validate_circuit(path, checks=parse_checks(checks), cfg=cfg)


def summary_table(paths: list[Path]) -> str:
    """task | full loss | circuit loss | nodes | edges | verdict, one row per circuit."""
    from sparsecircuits.core.circuit import read_circuit

    head = f"{'task':28s} {'full':>7s} {'circuit':>8s} {'nodes':>6s} {'edges':>6s}  verdict"
    lines = [head, "-" * len(head)]
    for path in paths:
        c = read_circuit(path)
        verdict = c.validation.verdict if c.validation else "not validated"
        lines.append(
            f"{c.task.name:28s} {c.losses.full_model:7.3f} "
            f"{c.losses.circuit:8.3f} {c.counts.nodes:6d} {c.counts.edges:6d}  {verdict}"
        )
    return "\n".join(lines)


def run_demo(opts: DemoOptions) -> Path:
    """Run every stage, print the summary table and per-stage times, return the report path."""
    from sparsecircuits.report.build import write_report
    from sparsecircuits.tasks import get_task
    from sparsecircuits.validate import parse_checks

    for name in opts.tasks or []:
        get_task(name)  # an unknown task or a broken task file fails now, not after the model stage
    parse_checks(opts.checks)
    if opts.n_tasks < 1:
        raise UserError(f"--n-tasks must be at least 1, not {opts.n_tasks}.")
    out = opts.out
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the demo's outputs.")
    out.mkdir(parents=True, exist_ok=True)
    bundled_tok = BUNDLED_RUN / "tokenizer.json"
    use_bundled = BUNDLED_RUN.is_dir() and not opts.force_train
    with _stage(opts, "corpus"):
        corpus = build_corpus_stage(out, bundled_tok if use_bundled else None)
    with _stage(opts, "model"):
        run_dir = model_stage(out, corpus, opts.force_train)
    with _stage(opts, "choose tasks"):
        chosen = choose_tasks(run_dir, opts, PruneConfig())[: opts.n_tasks]
        if not chosen:
            raise UserError(
                "the model reaches the target on no task; train longer "
                "(sparsecircuits train ... --set train.steps=...) or pass --task."
            )
        _say("pruning: " + ", ".join(r["task"] for r in chosen))
    with _stage(opts, "prune"):
        paths = prune_stage(run_dir, out, [r["task"] for r in chosen])
    with _stage(opts, "validate"):
        validate_stage(paths, opts.checks)
    with _stage(opts, "report"):
        report = write_report(out / "circuits", out / "report.html")
    fileio.atomic_write_json(out / "timings.json", opts.timings)
    print(summary_table(paths))
    print("\nseconds per stage: " + ", ".join(f"{k} {v}" for k, v in opts.timings.items()))
    print(f"report: {Path(report).resolve()}")
    return Path(report)
