"""Build a report: read circuit files, load their runs, compute node analyses, render the page."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparsecircuits.core.circuit import Circuit
from sparsecircuits.errors import UserError
from sparsecircuits.fileio import atomic_write_text
from sparsecircuits.report.circuits import find_circuits
from sparsecircuits.report.payload import build_payload, circuit_view, round_sig
from sparsecircuits.report.render import render_html
from sparsecircuits.report.snippets import SnippetConfig

if TYPE_CHECKING:
    from sparsecircuits.report.attribution import Trace
    from sparsecircuits.train.checkpoint import Run


@dataclass
class ReportOptions:
    """What a report computes beyond the circuit files themselves."""

    run: Path | None = None  # overrides the run named inside each circuit file
    use_model: bool = True  # load the run and compute activations (False: graph and numbers only)
    snippets: bool = True  # top/bottom corpus snippets per node (needs a corpus)
    corpus: Path | None = None  # the snippets' corpus (default: the run's)
    snippet: SnippetConfig = field(default_factory=SnippetConfig)
    n_class_pairs: int = 128  # held-out pairs for the per-class mean activations
    n_examples: int = 3  # held-out pairs shown with per-token activations
    n_trace_pairs: int = 8  # held-out pairs traced (logit attribution, attention, prompt traces)
    device: str = "cpu"
    title: str = "sparsecircuits report"


def task_analysis(
    run: Run, path: Path, circuit: Circuit, node_ids: list[str], opts: ReportOptions
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]], Trace | None]:
    """Per-node mean activation on each class (last token), example prompts with activations, and
    the trace (logit attribution, attention patterns, per-prompt node values; `attribution.py`).

    The prompts are the circuit's own: held-out pairs at the prompt length it was pruned at.
    """
    from sparsecircuits.core.data import prompt_length
    from sparsecircuits.core.run import circuit_task
    from sparsecircuits.report.activations import (
        last_position_activations,
        node_activations,
        pad_prompts,
    )
    from sparsecircuits.report.attribution import trace_circuit

    task = circuit_task(circuit, path)
    n = max(opts.n_class_pairs, opts.n_examples, opts.n_trace_pairs)
    max_len = circuit.hyperparameters.get("max_len")
    length = prompt_length(run.model, max_len if isinstance(max_len, int) else None)
    pairs = task.pairs(run.tokenizer, n, split="heldout", seed=circuit.task.seed, max_len=length)
    pad = run.tokenizer.eot_id
    per_node: dict[str, dict[str, Any]] = {}
    if node_ids and pairs:
        pos = last_position_activations(run.model, [p.prompt_pos for p in pairs], node_ids, pad)
        neg = last_position_activations(run.model, [p.prompt_neg for p in pairs], node_ids, pad)
        for col, node_id in enumerate(node_ids):
            per_node[node_id] = {
                "class_mean": {
                    "pos": round_sig(pos[:, col].mean().item()),
                    "neg": round_sig(neg[:, col].mean().item()),
                }
            }
    examples: list[dict[str, Any]] = []
    shown = pairs[: opts.n_examples]
    prompts, meta = [], []
    for p in shown:
        prompts += [p.prompt_pos, p.prompt_neg]
        meta += [("pos", p.target_pos, p.target_neg), ("neg", p.target_neg, p.target_pos)]
    if prompts:
        tokens, last = pad_prompts(prompts, pad)
        acts = node_activations(run.model, tokens, node_ids) if node_ids else None
        for i, (cls, target, other) in enumerate(meta):
            length = int(last[i]) + 1
            examples.append(
                {
                    "cls": cls,
                    "tokens": [run.tokenizer.token_text(t) for t in prompts[i]],
                    "target": run.tokenizer.token_text(target),
                    "other": run.tokenizer.token_text(other),
                    "acts": {
                        node_id: [round_sig(a, 3) for a in acts[i, :length, col].tolist()]
                        for col, node_id in enumerate(node_ids)
                    }
                    if acts is not None
                    else {},
                }
            )
    trace = (
        trace_circuit(run.model, run.tokenizer, pairs, node_ids, opts.n_trace_pairs)
        if opts.n_trace_pairs
        else None
    )
    return per_node, examples, trace


def analyse_circuit(
    path: Path, circuit: Circuit, opts: ReportOptions, runs: dict[Path, Run]
) -> dict[str, Any]:
    """The viewer's data for one circuit, with model-based analyses when `opts.use_model`."""
    if not opts.use_model:
        return circuit_view(
            path,
            circuit,
            notes=["Made with --no-model: activations and snippets were not computed."],
        )
    from sparsecircuits.core.nodes import keep_from_ids, site_widths
    from sparsecircuits.core.run import check_weights, resolve_run_dir
    from sparsecircuits.train import load_run

    run_dir = resolve_run_dir(circuit.model.run, path, opts.run).resolve()
    if run_dir not in runs:  # several circuits of one run load it once
        runs[run_dir] = load_run(run_dir, device=opts.device)
    run = runs[run_dir]
    check_weights(circuit, path, run)
    node_ids = circuit.node_ids
    keep_from_ids(site_widths(run.model), node_ids, str(path))  # every node exists in this model
    notes: list[str] = []
    info: dict[str, dict[str, Any]] = {n: {} for n in node_ids}
    examples = None
    trace = None
    try:
        per_node, examples, trace = task_analysis(run, path, circuit, node_ids, opts)
        for k, v in per_node.items():
            info[k].update(v)
    except (UserError, ImportError) as e:
        # e.g. a task this version does not know (an imported circuit): the rest still helps.
        notes.append(f"Task activations not computed: {e}")
        print(f"warning: {path.name}: task activations not computed: {e}", file=sys.stderr)
    if opts.snippets and node_ids:
        from sparsecircuits.report.snippets import corpus_snippets

        try:
            snips = corpus_snippets(run, node_ids, opts.snippet, corpus_dir=opts.corpus)
            for k, v in snips.items():
                info[k]["snippets"] = v
        except UserError as e:
            notes.append(f"Corpus snippets not computed: {e}")
            print(f"warning: {path.name}: corpus snippets not computed: {e}", file=sys.stderr)
    return circuit_view(
        path,
        circuit,
        node_info=info,
        examples=examples,
        notes=notes,
        trace=trace.to_json() if trace is not None else None,
    )


def same_task_notes(circuits: list[Circuit]) -> list[str]:
    """Per circuit, a line comparing it with the circuits of the same task from other models (or "")."""
    notes = []
    for c in circuits:
        others = [o for o in circuits if o.task.name == c.task.name and o.model.run != c.model.run]
        notes.append(
            "Same task in other models: "
            + "; ".join(
                f"{Path(o.model.run).name}: {o.counts.nodes} nodes, {o.counts.edges} edges "
                f"({o.counts.edges / max(c.counts.edges, 1):.1f}x this circuit's edges)"
                for o in others
            )
            + f". This one ({Path(c.model.run).name}): {c.counts.nodes} nodes, {c.counts.edges} edges."
            if others
            else ""
        )
    return notes


def build_report(source: str | Path, opts: ReportOptions | None = None) -> str:
    """The HTML report for a circuit file or a folder of circuit files."""
    opts = opts or ReportOptions()
    runs: dict[Path, Run] = {}
    found = find_circuits(source)
    views = [analyse_circuit(p, c, opts, runs) for p, c in found]
    for view, note in zip(views, same_task_notes([c for _, c in found]), strict=True):
        if note:
            view["notes"].append(note)
    return render_html(build_payload(views, title=opts.title), title=opts.title)


def write_report(source: str | Path, out: str | Path, opts: ReportOptions | None = None) -> Path:
    """Build the report for `source` and write it atomically to `out` (an .html file)."""
    out = Path(out)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / 'report.html'}")
    text = build_report(source, opts)
    atomic_write_text(out, text)
    return out
