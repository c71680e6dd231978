"""Training precision: bf16 autocast on CPUs with native bf16, fp32 elsewhere; resume stays in one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sparsecircuits.errors import UserError
from sparsecircuits.train import precision as prec
from sparsecircuits.train.checkpoint import load_run_config
from sparsecircuits.train.config import resume_config
from sparsecircuits.train.loop import train

needs_bf16 = pytest.mark.skipif(
    not prec.cpu_has_native_bf16(), reason="this CPU has no native bf16 (avx512_bf16/amx_bf16)"
)


def test_resolve_names_the_reason(monkeypatch) -> None:
    cpu = torch.device("cpu")
    assert prec.resolve(cpu, False) == ("fp32", "train.autocast_bf16 is false")
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)
    precision, why = prec.resolve(cpu, True)
    assert precision == "fp32" and "no native bf16" in why
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: True)
    assert prec.resolve(cpu, True)[0] == "bf16"
    assert prec.resolve(torch.device("cuda"), True)[0] == "bf16"


@pytest.mark.parametrize("bf16", [pytest.param(True, marks=needs_bf16), False])
def test_resume_is_bit_exact_within_a_precision(
    bf16: bool, tiny_run_config, tmp_path: Path
) -> None:
    cfg = dict(steps=6, checkpoint_every=2, autocast_bf16=bf16)
    full, part = tmp_path / "full", tmp_path / "part"
    train(tiny_run_config(**cfg), full)
    train(tiny_run_config(**cfg), part, stop_after=2)
    train(tiny_run_config(**cfg), part, resume=True)
    a, b = load_file(full / "model.safetensors"), load_file(part / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_run_config(part).train.precision == ("bf16" if bf16 else "fp32")


@needs_bf16
def test_bf16_and_fp32_train_differently_but_close(tiny_run_config, tmp_path: Path) -> None:
    """bf16 really runs (the weights differ from fp32's) and stays near fp32's losses."""
    train(tiny_run_config(steps=6), tmp_path / "bf16")
    train(tiny_run_config(steps=6, autocast_bf16=False), tmp_path / "fp32")
    a = load_file(tmp_path / "bf16" / "model.safetensors")
    b = load_file(tmp_path / "fp32" / "model.safetensors")
    assert a["transformer.wte.weight"].dtype == torch.float32  # fp32 master weights
    assert not all(torch.equal(a[k], b[k]) for k in a)
    last = [
        json.loads((tmp_path / n / "metrics.jsonl").read_text().splitlines()[-1])
        for n in ("bf16", "fp32")
    ]
    assert abs(last[0]["val_loss"] - last[1]["val_loss"]) < 0.02 * last[1]["val_loss"]


@needs_bf16
def test_resume_refuses_the_other_precision(tiny_run_config, tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "run"
    train(tiny_run_config(steps=4, checkpoint_every=2), run, stop_after=2)
    saved = load_run_config(run)
    # asked for fp32 on the command line: the config field differs
    with pytest.raises(UserError, match="train.autocast_bf16"):
        resume_config(saved, tiny_run_config(steps=4, autocast_bf16=False), run / "config.toml")
    # the same config on a machine without bf16: the resolved precision differs
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(UserError, match=r"train.precision = 'bf16'.*'fp32'"):
        train(dataclasses.replace(saved), run, resume=True)


def test_an_fp32_run_resumes_in_fp32_on_a_bf16_machine(
    tiny_run_config, tmp_path: Path, monkeypatch
) -> None:
    """A run from before the precision field (CPU: fp32) continues in fp32, bit-exact."""
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)  # where it first ran
    cfg = dict(steps=6, checkpoint_every=2)
    full, part = tmp_path / "full", tmp_path / "part"
    train(tiny_run_config(**cfg), full)
    train(tiny_run_config(**cfg), part, stop_after=2)
    toml = part / "config.toml"
    toml.write_text(toml.read_text().replace('precision = "fp32"', 'precision = ""'))
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: True)  # the machine it resumes on
    train(load_run_config(part), part, resume=True)
    a, b = load_file(full / "model.safetensors"), load_file(part / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_run_config(part).train.precision == "fp32"
