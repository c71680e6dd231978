#!/usr/bin/env bash
# One-shot GPU zoo run for a machine lent for about ten minutes, with no network, where only the
# files under $OUT come back (at most 8 files of at most 15 MiB each):
#   install (from wheels in $WHEELS, if given) -> build a small code-dense + synthetic corpus ->
#   time 20 steps -> train for TRAIN_MINUTES -> evaluate all twenty tasks -> pack the run.
# Results in $OUT: weights-NN.safetensors (bf16; sparse matrices as values + indices),
# config.toml, tokenizer.json, metrics.jsonl, tasks.jsonl, gpu_zoo.json (tokens/s, MFU).
# The CPU dry run (tests/train/test_gpu_zoo_script.py) sets DEVICE=cpu and a tiny SETS.
#   OUT=/tmp/out bash benchmarks/gpu_zoo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder whose files come back}
CONFIG=${CONFIG:-configs/gpu-zoo.toml}
DEVICE=${DEVICE:-cuda}
TRAIN_MINUTES=${TRAIN_MINUTES:-5}
PAIRS=${PAIRS:-512}
TASKS=${TASKS:-}  # space-separated task names (default: all twenty; the dry run's tiny vocabulary expresses few)
SETS=${SETS:-}  # extra --set overrides, space-separated (the dry run shrinks the model)
CORPUS_SOURCES=${CORPUS_SOURCES:-"--source stdlib --source synthetic:0.25"}
WORK=${WORK:-$(mktemp -d)}
PY=${PY:-python3}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}  # H200 dense bf16

if [ -n "${WHEELS:-}" ]; then
  "$PY" -m pip install -q --no-index --find-links "$WHEELS" -e .
fi
SC=("$PY" -m sparsecircuits)
sets=(--set "train.device=$DEVICE" --set "train.corpus=$WORK/corpus")
for s in $SETS; do sets+=(--set "$s"); done
task_flags=()
for t in $TASKS; do task_flags+=(--task "$t"); done

# shellcheck disable=SC2086
"${SC[@]}" corpus build $CORPUS_SOURCES --strip docstrings,comments --out "$WORK/corpus" >/dev/null

# time 20 steps, then size the run so that its schedule ends inside the budget
"${SC[@]}" train "$CONFIG" --out "$WORK/probe" "${sets[@]}" --set train.steps=20 \
  --set train.eval_every=20 --set train.log_every=10 --set train.eval_batches=1 >/dev/null
steps=$("$PY" - "$WORK/probe/metrics.jsonl" "$TRAIN_MINUTES" "$CONFIG" ${SETS:+$SETS} <<'PY'
import json, sys
from sparsecircuits.train.config import load_config
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rate = rows[-1]["tokens_per_s"]  # the last 10 steps, warmed up
cfg = load_config(sys.argv[3], sys.argv[4:])
per_step = cfg.train.batch_size * cfg.train.seq_len
print(max(2, int(0.9 * rate * 60 * float(sys.argv[2]) / per_step)))
PY
)
echo "training $steps steps" >&2
"${SC[@]}" train "$CONFIG" --out "$WORK/run" "${sets[@]}" --set "train.steps=$steps" \
  --set "train.max_minutes=$TRAIN_MINUTES" >/dev/null
"${SC[@]}" tasks eval "$WORK/run" --n "$PAIRS" --device "$DEVICE" "${task_flags[@]}" --json > "$OUT/tasks.jsonl"
"$PY" benchmarks/gpu_export.py pack "$WORK/run" "$OUT" >&2
"$PY" - "$WORK/run" "$OUT" "$PEAK_TFLOPS" "$DEVICE" <<'PY'
import json, sys
from pathlib import Path
from sparsecircuits.fileio import atomic_write_json
from sparsecircuits.train import load_run
run, out, peak, device = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
r = load_run(run)
m, t = r.config.model, r.config.train
rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
rates = sorted(x["tokens_per_s"] for x in rows if "tokens_per_s" in x)
rate = rates[len(rates) // 2]
# training FLOPs per token: 6 x the matmul weights (computed dense) + attention's scores and mixing
matmul = sum(p.numel() for n, p in r.model.named_parameters() if p.dim() == 2 and "bigram" not in n)
flops = 6 * matmul + 12 * m.n_layer * t.seq_len * m.n_head * m.d_head
tasks = [json.loads(l) for l in (out / "tasks.jsonl").read_text().splitlines()]
atomic_write_json(out / "gpu_zoo.json", {
    "device": device, "steps": rows[-1]["step"], "tokens": rows[-1]["step"] * t.batch_size * t.seq_len,
    "tokens_per_s_median": rate, "flops_per_token": flops,
    "mfu": rate * flops / (peak * 1e12), "peak_tflops": peak,
    "val_loss": next(x["val_loss"] for x in reversed(rows) if "val_loss" in x),
    "tasks_at_0.15": sum(1 for x in tasks if x["task"] != "mean" and x["loss"] <= 0.15),
})
PY
ls -l "$OUT" >&2
