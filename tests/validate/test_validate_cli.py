"""`sparsecircuits validate` from the command line: writes the file, exit codes, user errors."""

from __future__ import annotations

import json
import shutil

import pytest

from sparsecircuits.cli import main


def _run(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def test_cli_writes_validation_and_exits_0(circuit_file, capsys):
    code = _run(["validate", str(circuit_file), "--checks", "sufficiency,necessity", "--seed", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "sufficiency" in out and "necessity" in out and "overall verdict" in out
    v = json.loads(circuit_file.read_text())["validation"]
    assert list(v["checks"]) == ["sufficiency", "necessity"] and v["seed"] == 1
    assert v["verdict"] in ("pass", "fail")


def test_cli_missing_circuit_file(tmp_path, capsys):
    assert _run(["validate", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "does not exist" in err and "Traceback" not in err


def test_cli_run_folder_gone_suggests_run(circuit_file, workspace, tmp_path, capsys):
    raw = json.loads(circuit_file.read_text())
    raw["model"]["run"] = str(tmp_path / "deleted-run")
    circuit_file.write_text(json.dumps(raw))
    before = circuit_file.read_bytes()
    assert _run(["validate", str(circuit_file), "--checks", "sufficiency"]) == 2
    err = capsys.readouterr().err
    assert "--run" in err and "was not found" in err
    assert circuit_file.read_bytes() == before  # nothing written
    # and --run fixes it
    assert (
        _run(
            [
                "validate",
                str(circuit_file),
                "--checks",
                "sufficiency",
                "--run",
                str(workspace["run"]),
            ]
        )
        == 0
    )


def test_cli_other_weights_rejected(circuit_file, workspace, tmp_path, capsys):
    other = tmp_path / "other-run"
    shutil.copytree(workspace["run"], other)
    (other / "model.safetensors").write_bytes(
        (other / "model.safetensors").read_bytes()
    )  # same bytes: accepted
    assert (
        _run(["validate", str(circuit_file), "--checks", "sufficiency", "--run", str(other)]) == 0
    )
    raw = json.loads(circuit_file.read_text())
    raw["model"]["weights_sha256"] = "0" * 64
    circuit_file.write_text(json.dumps(raw))
    assert (
        _run(["validate", str(circuit_file), "--checks", "sufficiency", "--run", str(other)]) == 2
    )
    assert "was pruned from weights" in capsys.readouterr().err


def test_cli_bad_checks_and_settings(circuit_file, capsys):
    assert _run(["validate", str(circuit_file), "--checks", "sufficiency,magic"]) == 2
    assert "unknown check" in capsys.readouterr().err
    assert _run(["validate", str(circuit_file), "--set", "bogus=1"]) == 2
    assert "unknown key validate.bogus" in capsys.readouterr().err
