"""The demo pipeline. Every stage writes into `out/` and is skipped when its output exists.

With the shipped zoo (a weight-sparse model and a dense one of matched held-out loss) it prunes
the tasks both models can do in both, so the printed table and the report put the sparse and
the dense circuit of each task side by side; without it, one tiny-sparse model (bundled or
trained here) stands alone.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sparsecircuits import fileio
from sparsecircuits.corpus.strip import Part
from sparsecircuits.errors import UserError
from sparsecircuits.prune.config import PruneConfig

BUNDLED = Path(__file__).resolve().parent.parent / "bundled"
# The zoo pair (kind, folder) and the fallback: a tiny-sparse run trained longer than its preset.
ZOO = (("sparse", BUNDLED / "zoo2-sparse"), ("dense", BUNDLED / "zoo2-dense-d48"))
# The zoo was trained on code without docstrings and comments (bundled/README.md): its mean
# activations and snippets come from the stdlib seen the same way.
ZOO_STRIP: frozenset[Part] = frozenset({"docstrings", "comments"})
BUNDLED_RUN = BUNDLED / "tiny-sparse"
PRESET = Path("configs") / "tiny-sparse.toml"
# Tried first: the two tasks whose circuits the paper draws; then the rest of the suite.
PREFERRED_TASKS = ("single_double_quote", "bracket_counting")


@dataclass
class DemoOptions:
    """What the demo does; the defaults are `make demo`."""

    out: Path = Path("demo")
    tasks: list[str] | None = None  # None: choose automatically
    # two tasks = four zoo circuits, about 40 s each at 400 mask steps: a demo of minutes
    n_tasks: int = 2
    force_train: bool = False
    checks: str = "sufficiency,necessity,stochastic"
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoModel:
    """One model of the demo: its kind, where it comes from, and its run folder under `out/`."""

    kind: str
    source: Path | None  # a bundled run folder, or None: train the tiny-sparse preset here
    run: Path


@dataclass(frozen=True)
class TaskScore:
    """A task's held-out loss and accuracy on every model of the demo."""

    task: str
    loss: dict[str, float]
    accuracy: dict[str, float]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@contextmanager
def _stage(opts: DemoOptions, name: str) -> Iterator[None]:
    _say(f"\n== {name} ==")
    t0 = time.perf_counter()
    yield
    opts.timings[name] = round(time.perf_counter() - t0, 1)
    _say(f"-- {name}: {opts.timings[name]:.1f} s")


def demo_models(out: Path, force_train: bool) -> list[DemoModel]:
    """The zoo pair when it is shipped, else tiny-sparse (bundled, or trained with --train)."""
    if not force_train and all((d / "model.safetensors").is_file() for _, d in ZOO):
        return [DemoModel(kind, d, out / f"run-{kind}") for kind, d in ZOO]
    source = BUNDLED_RUN if BUNDLED_RUN.is_dir() and not force_train else None
    return [DemoModel("sparse", source, out / "run")]


def build_corpus_stage(out: Path, tokenizer: Path | None, strip: frozenset[Part]) -> Path:
    """The stdlib corpus under `out/corpus`, tokenized with `tokenizer` when given."""
    from sparsecircuits.corpus.build import BuildConfig, build_corpus
    from sparsecircuits.corpus.sources import SourceOptions

    corpus = out / "corpus"
    if (corpus / "manifest.json").is_file():
        _say(f"reusing {corpus}")
        return corpus
    options = SourceOptions(strip=strip)
    build_corpus(BuildConfig(sources=["stdlib"], out=corpus, tokenizer=tokenizer, options=options))
    return corpus


def model_stage(model: DemoModel, corpus: Path) -> Path:
    """The run folder of one model: a copy of the bundled run (pointed at the demo corpus), or trained here."""
    from sparsecircuits.train import checkpoint as ckpt
    from sparsecircuits.train.config import load_config
    from sparsecircuits.train.loop import train

    run = model.run
    has_state = (run / ckpt.STATE_FILE).is_file()
    if (run / ckpt.WEIGHTS_FILE).is_file() and ckpt.is_finished(
        run, ckpt.load_run_config(run).train.steps
    ):
        _say(f"reusing {run}")
        return run
    if model.source is not None:
        config = ckpt.load_run_config(model.source)
        config.train.corpus = str(corpus.resolve())
        with fileio.staging_dir(run) as tmp:
            for name in (ckpt.WEIGHTS_FILE, ckpt.TOKENIZER_FILE, "metrics.jsonl"):
                if (model.source / name).is_file():
                    shutil.copy2(model.source / name, tmp / name)
            fileio.atomic_write_text(tmp / ckpt.CONFIG_FILE, config.to_toml())
        _say(f"using the bundled {model.source.name} model ({model.source})")
        return run
    if not PRESET.is_file():
        raise UserError(
            f"no bundled model and no preset {PRESET}; run the demo from the repository root."
        )
    config = ckpt.load_run_config(run) if has_state else load_config(PRESET)
    config.train.corpus = str(corpus.resolve())
    train(config, run, resume=has_state)
    return run


def choose_tasks(models: list[DemoModel], opts: DemoOptions, cfg: PruneConfig) -> list[TaskScore]:
    """Score every model on the tasks as pruning will see them; keep the first `n_tasks` all of them do.

    A task qualifies when each whole model's held-out loss on prompts of pruning's length is
    under the target: only then can a circuit meet it in every model.
    """
    from sparsecircuits.core.evaluate import evaluate_task
    from sparsecircuits.tasks import get_task, task_names
    from sparsecircuits.train import load_run

    runs = {m.kind: load_run(m.run) for m in models}
    names = opts.tasks or [*PREFERRED_TASKS, *(n for n in task_names() if n not in PREFERRED_TASKS)]
    rows: list[TaskScore] = []
    for name in names:
        loss, acc = {}, {}
        try:
            for kind, run in runs.items():
                res = evaluate_task(
                    run.model, get_task(name), run.tokenizer, n=cfg.n_heldout, seed=cfg.seed
                )
                loss[kind], acc[kind] = res["loss"], res["accuracy"]
        except UserError as e:  # the tokenizer cannot express this task
            _say(f"  {name}: skipped ({e})")
            continue
        rows.append(TaskScore(name, loss, acc))
        _say(f"  {name:28s} " + "  ".join(f"{k} loss {v:.3f}" for k, v in loss.items()))
        doable = [r for r in rows if max(r.loss.values()) <= cfg.target_loss]
        if not opts.tasks and len(doable) >= opts.n_tasks:
            break
    return rows if opts.tasks else [r for r in rows if max(r.loss.values()) <= cfg.target_loss]


def circuit_path(out: Path, task_name: str, kind: str, n_models: int) -> Path:
    """`circuits/TASK.json` for a lone model, `circuits/TASK.KIND.json` for the zoo pair."""
    return out / "circuits" / (f"{task_name}.{kind}.json" if n_models > 1 else f"{task_name}.json")


def prune_config(n_models: int) -> PruneConfig:
    """Pruning settings: the CPU defaults for tiny-sparse; longer, harder mask training for the zoo.

    The zoo's sparse model has 11,264 nodes: 100 mask steps barely prune it (while_return_true
    kept 3407 nodes, 58,383 edges), 400 steps with k_coef 1e-3 keep 118 / 262 (measured by
    `configs/sweep-zoo.toml` and `configs/sweep-zoo-long.toml`). Per-node deltas (one forward per
    kept node) are left out for the zoo to stay within minutes.
    """
    if n_models == 1:
        return PruneConfig()
    return PruneConfig(steps=400, k_coef=1e-3, node_deltas=False)


def prune_stage(models: list[DemoModel], out: Path, tasks: list[str]) -> list[Path]:
    """One circuit file per task and model under `out/circuits`; finished ones are reused."""
    from sparsecircuits.core.circuit import save_circuit
    from sparsecircuits.prune import TargetUnreachable, prune_task
    from sparsecircuits.tasks import get_task
    from sparsecircuits.train import load_run

    paths = []
    for name in tasks:
        for m in models:
            cfg = prune_config(len(models))
            path = circuit_path(out, get_task(name).name, m.kind, len(models))
            if not path.is_file():
                _say(f"  {name} ({m.kind})")
                try:
                    save_circuit(prune_task(load_run(m.run), name, cfg), path)
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
    """task | model | full loss | circuit loss | nodes | edges | verdict; with the zoo, dense/sparse edge ratios."""
    from sparsecircuits.core.circuit import read_circuit

    head = f"{'task':28s} {'model':<11s} {'full':>7s} {'circuit':>8s} {'nodes':>6s} {'edges':>6s}  verdict"
    lines = [head, "-" * len(head)]
    edges: dict[str, dict[str, int]] = {}
    for path in paths:
        c = read_circuit(path)
        kind = path.stem.rsplit(".", 1)[1] if path.stem.count(".") else "sparse"
        edges.setdefault(c.task.name, {})[kind] = c.counts.edges
        verdict = c.validation.verdict if c.validation else "not validated"
        lines.append(
            f"{c.task.name:28s} {Path(c.model.run).name:<11s} {c.losses.full_model:7.3f} "
            f"{c.losses.circuit:8.3f} {c.counts.nodes:6d} {c.counts.edges:6d}  {verdict}"
        )
    pairs = {t: e for t, e in edges.items() if {"sparse", "dense"} <= set(e)}
    if pairs:
        ratios = [max(e["dense"], 1) / max(e["sparse"], 1) for e in pairs.values()]
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        each = ", ".join(f"{t} {r:.1f}x" for t, r in zip(pairs, ratios, strict=True))
        lines.append(f"dense / sparse circuit edges: {each}; geometric mean {geo:.2f}x")
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
    models = demo_models(out, opts.force_train)
    tok = models[0].source / "tokenizer.json" if models[0].source is not None else None
    with _stage(opts, "corpus"):
        corpus = build_corpus_stage(out, tok, ZOO_STRIP if len(models) > 1 else frozenset())
    with _stage(opts, "model"):
        for m in models:
            model_stage(m, corpus)
    with _stage(opts, "choose tasks"):
        chosen = choose_tasks(models, opts, PruneConfig())[: opts.n_tasks]
        if not chosen:
            raise UserError(
                "the models reach the target on no task; train longer "
                "(sparsecircuits train ... --set train.steps=...) or pass --task."
            )
        _say("pruning: " + ", ".join(r.task for r in chosen))
    with _stage(opts, "prune"):
        paths = prune_stage(models, out, [r.task for r in chosen])
    with _stage(opts, "validate"):
        validate_stage(paths, opts.checks)
    with _stage(opts, "report"):
        report = write_report(out / "circuits", out / "report.html")
    fileio.atomic_write_json(out / "timings.json", opts.timings)
    print(summary_table(paths))
    print("\nseconds per stage: " + ", ".join(f"{k} {v}" for k, v in opts.timings.items()))
    print(f"report: {Path(report).resolve()}")
    return Path(report)
