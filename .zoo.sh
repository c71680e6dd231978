#!/bin/bash
# Train the zoo in the background: sparse on one core, the dense widths one after the other on the other.
cd /work/main; source .venv/bin/activate
export OMP_NUM_THREADS=1
run() { # config out
  if [ -f runs/$2/train_state.pt ] || [ -f runs/$2/model.safetensors ]; then
    nice -n 10 sparsecircuits train configs/$1.toml --out runs/$2 --resume
  else
    nice -n 10 sparsecircuits train configs/$1.toml --out runs/$2
  fi
}
(run zoo-sparse zoo-sparse > logs/zoo-sparse.log 2>&1) &
(run zoo-dense-d64 zoo-dense-d64 > logs/zoo-dense-d64.log 2>&1; run zoo-dense-d128 zoo-dense-d128 > logs/zoo-dense-d128.log 2>&1) &
wait
