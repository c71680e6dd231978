"""The report's trace: direct logit attribution adds up, attention rows are distributions."""

from __future__ import annotations

from pathlib import Path

import torch

from sparsecircuits.report.attribution import trace_circuit


def test_resid_writes_and_embedding_add_up_to_the_logit_difference(tiny_run: Path) -> None:
    from sparsecircuits.tasks import get_task
    from sparsecircuits.train import load_run

    run = load_run(tiny_run)
    model = run.model
    pairs = get_task("single_double_quote").pairs(run.tokenizer, 4, split="heldout", max_len=24)
    d_model = model.config.d_model
    writes = [
        f"{layer}.{block}.resid_delta:{c}"
        for layer in range(model.config.n_layer)
        for block in ("attn", "mlp")
        for c in range(d_model)
    ]
    heads = [f"0.attn.q:{c}" for c in range(0, model.config.n_head * model.config.d_head, 4)]
    trace = trace_circuit(model, run.tokenizer, pairs, writes + heads + ["0.attn.v:1"], n_pairs=3)
    assert trace is not None and len(trace.prompts) == 6
    w_u = model.transformer.wte.weight if model.lm_head is None else model.lm_head.weight
    g = model.transformer.ln_f.weight
    with torch.no_grad():
        for i, pt in enumerate(trace.prompts):
            pair = pairs[i // 2]
            prompt = pair.prompt_pos if pt.cls == "pos" else pair.prompt_neg
            idx = torch.tensor([prompt])
            _, cache = model.run_with_cache(idx, sites=[f"{model.config.n_layer}.resid_pre"])
            final = cache[f"{model.config.n_layer}.resid_pre"][0, -1]
            rms = torch.sqrt(final.pow(2).mean() + torch.finfo(final.dtype).eps)
            d = g * (w_u[pair.target_pos] - w_u[pair.target_neg]) / rms
            rest = float(model.transformer.wte.weight[prompt[-1]] @ d)  # the embedding's share
            if model.bigram_table is not None:
                row = model.bigram_table[prompt[-1]]
                rest += float(row[pair.target_pos] - row[pair.target_neg])
            total = sum(pt.direct[w] for w in writes) + rest
            assert abs(total - pt.logit_diff) < 0.02 * max(1.0, abs(pt.logit_diff))
            assert pt.direct.get("0.attn.q:0") is None and "0.attn.v:1" in pt.direct
    assert trace.heads and {h.layer for h in trace.heads} == {0}
    for h in trace.heads:
        for row, sink in zip(h.weights, h.sink, strict=True):
            assert abs(sum(row) + sink - 1.0) < 0.02
    assert set(trace.logit_weights) == set(writes)


def test_report_prompts_are_the_circuits_own_length(run_circuit: Path, tmp_path: Path) -> None:
    import json

    from sparsecircuits.report.build import ReportOptions, build_report

    data = json.loads(run_circuit.read_text())
    data["hyperparameters"]["max_len"] = 12  # as if pruned on 12-token prompts
    path = tmp_path / "short.json"
    path.write_text(json.dumps(data))
    html = build_report(path, ReportOptions(snippets=False, n_class_pairs=8, n_examples=2))
    view = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0])["circuits"][0]
    lengths = [len(e["tokens"]) for e in view["examples"]]
    lengths += [len(p["tokens"]) for p in view["trace"]["prompts"]]
    assert lengths and max(lengths) <= 12
