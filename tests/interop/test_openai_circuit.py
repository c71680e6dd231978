"""import -> prune -> validate -> report on an imported model, and the authors' circuit files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from sparsecircuits.cli import main
from sparsecircuits.core.circuit import read_circuit
from sparsecircuits.core.nodes import keep_from_ids, site_widths
from sparsecircuits.errors import UserError
from sparsecircuits.interop.openai_circuit import import_circuit
from sparsecircuits.prune.config import PruneConfig
from sparsecircuits.prune.edges import count_edges
from sparsecircuits.train import load_run

from .openai_fixture import write_viz

TASK = "single_double_quote"  # the workspace's task (tests/conftest.py)


@pytest.fixture(scope="module")
def prune_hp(workspace) -> dict:
    """The settings the workspace circuit was pruned with (recorded in its file)."""
    return read_circuit(workspace["circuit"]).hyperparameters


def _run(argv: list) -> int:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    return e.value.code


@pytest.fixture(scope="module")
def imported(workspace, tmp_path_factory) -> dict[str, Path]:
    """The workspace model exported to the authors' format, imported back, and a corpus in its tokenizer."""
    root = tmp_path_factory.mktemp("imported")
    exp, run, corpus = root / "exported", root / "run", root / "corpus"
    assert _run(["export", workspace["run"], "--format", "openai", "--out", exp]) == 0
    assert _run(["import", "openai", exp, "--out", run, "--tokenizer", exp]) == 0
    # item 5 of the issue: our corpus, encoded with the imported model's tokenizer
    argv = ["corpus", "build", "--tokenizer", run, "--source", workspace["root"] / "src"]
    assert _run([*argv, "--out", corpus, "--val-fraction", "0.2"]) == 0
    return {"root": root, "exported": exp, "run": run, "corpus": corpus}


def test_import_prune_validate_report(imported, tmp_path, prune_hp, workspace_prune_args):
    run, corpus = imported["run"], imported["corpus"]
    out = tmp_path / "circuits"
    argv = ["prune", run, "--task", TASK, "--out", out, "--corpus", corpus]
    assert _run([*argv, *workspace_prune_args]) == 0
    path = out / f"{TASK}.json"
    circuit = read_circuit(path)
    assert circuit.counts.nodes > 0 and circuit.losses.circuit <= prune_hp["target_loss"]
    checks = "sufficiency,necessity"
    assert _run(["validate", path, "--corpus", corpus, "--checks", checks]) == 0
    assert set(read_circuit(path).validation.checks) == {"sufficiency", "necessity"}
    html = tmp_path / "r.html"
    argv = ["report", out, "--out", html, "--corpus", corpus, "--snippet-windows", 16]
    assert _run([*argv, "--snippet-len", 16]) == 0
    page = html.read_text()
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    node = data["circuits"][0]["nodes"][0]
    assert node["snippets"]["top"] or node["snippets"]["bottom"]  # from the given corpus


def test_prune_without_a_corpus_says_how_to_make_one(
    imported, tmp_path, capsys, workspace_prune_args
):
    code = _run(
        ["prune", imported["run"], "--task", TASK, "--out", tmp_path, *workspace_prune_args]
    )
    assert code == 2
    assert "corpus build --tokenizer" in capsys.readouterr().err


def _viz(imported: dict, workspace, tmp_path: Path, **kw) -> tuple[Path, list[str]]:
    beeg = json.loads((imported["exported"] / "beeg_config.json").read_text())
    ids = read_circuit(workspace["circuit"]).node_ids
    kept: dict[str, list[int]] = {}
    for nid in ids:
        site, _, i = nid.rpartition(":")
        kept.setdefault(site, []).append(int(i))
    path = tmp_path / "viz" / "csp_test" / f"{TASK}_beeg3" / "prune_v2" / "64" / "viz_data.pt"
    return write_viz(path, beeg, kept, final_resid=[0, 3], **kw), ids


def test_authors_circuit_imports_validates_and_shows(imported, workspace, tmp_path, capsys):
    viz, ids = _viz(imported, workspace, tmp_path)
    out = tmp_path / "circuits" / f"{TASK}.json"
    argv = ["import", "openai-circuit", viz, "--run", imported["run"], "--out", out]
    argv += ["--corpus", imported["corpus"], "--target-loss", 0.3, "--max-len", 40]
    assert _run([*argv, "--n-heldout", 48]) == 0
    assert "2 final_resid nodes" in capsys.readouterr().err
    circuit = read_circuit(out)
    assert circuit.task.name == TASK  # from the folder name, their "_beeg3" suffix dropped
    assert sorted(circuit.node_ids) == sorted(ids)
    run = load_run(imported["run"])
    keep = keep_from_ids(site_widths(run.model), ids)
    assert len(circuit.edges) == len(count_edges(run.model, keep))
    imp = circuit.extra["imported"]
    assert imp["final_resid_nodes"] == [0, 3] and imp["missing_fields"] == []
    assert (
        imp["losses_as_stored"]["loss"] == 0.2 and imp["losses_as_stored"]["all_loss_last"] == 0.42
    )
    assert imp["edges_as_stored"] > 0 and len(imp["node_interv_losses"]) == len(ids)
    # the same nodes measured by our evaluator as the circuit pruned from the original run
    ours = read_circuit(workspace["circuit"])
    assert circuit.losses.full_model == pytest.approx(ours.losses.full_model, abs=1e-6)

    assert (
        _run(["validate", out, "--corpus", imported["corpus"], "--checks", "sufficiency,necessity"])
        == 0
    )
    html = tmp_path / "r.html"
    assert _run(["report", out.parent, "--out", html, "--no-snippets"]) == 0
    page = html.read_text()
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    view = data["circuits"][0]
    assert set(view["validation"]["checks"]) == {"sufficiency", "necessity"}
    assert any("Imported from the authors'" in n for n in view["notes"])
    assert any("final_resid" in n for n in view["notes"])


def test_missing_optional_fields_are_named(imported, workspace, tmp_path, prune_hp):
    viz, _ = _viz(imported, workspace, tmp_path, optional=False)
    said: list[str] = []
    cfg = PruneConfig(**{**prune_hp, "node_deltas": False})
    circuit = import_circuit(
        viz,
        load_run(imported["run"]),
        tmp_path / "c.json",
        None,
        cfg,
        imported["corpus"],
        said.append,
        False,
    )
    assert any("importances, samples, all_loss, num_total_nodes, prune_config" in s for s in said)
    assert circuit.extra["imported"]["losses_as_stored"]["loss"] is None


def test_unusable_or_foreign_circuit_files_are_refused(imported, workspace, tmp_path, prune_hp):
    run = load_run(imported["run"])
    cfg = PruneConfig(**prune_hp)
    empty = tmp_path / "empty.pt"
    torch.save({"importances": {}}, empty)
    with pytest.raises(UserError, match="no circuit_data"):
        import_circuit(empty, run, tmp_path / "c.json", None, cfg, imported["corpus"], print, False)
    big = tmp_path / "big.pt"
    torch.save({"circuit_data": {"7.mlp.post_act": torch.tensor([1])}}, big)
    with pytest.raises(UserError, match="does not have"):
        import_circuit(big, run, tmp_path / "c.json", None, cfg, imported["corpus"], print, False)
    past = tmp_path / "past.pt"
    torch.save({"circuit_data": {"0.mlp.post_act": torch.tensor([99999])}}, past)
    with pytest.raises(UserError, match="99999"):
        import_circuit(past, run, tmp_path / "c.json", None, cfg, imported["corpus"], print, False)
    viz, _ = _viz(imported, workspace, tmp_path)
    data = torch.load(viz, weights_only=True)
    data["num_total_nodes"] = 136192
    torch.save(data, viz)
    with pytest.raises(UserError, match="136192 nodes"):
        import_circuit(viz, run, tmp_path / "c.json", None, cfg, imported["corpus"], print, False)
    assert not (tmp_path / "c.json").exists()
