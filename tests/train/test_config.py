"""TOML loading and --set overrides of RunConfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsecircuits.errors import UserError
from sparsecircuits.train.config import RunConfig, apply_overrides, load_config


def test_round_trip_and_overrides(tmp_path: Path) -> None:
    cfg = RunConfig()
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    loaded = load_config(
        path,
        [
            "train.lr=0.05",
            "model.n_layer=2",
            "model.afrac=0",
            "train.target_fraction=1/16",
            "train.compile=true",
        ],
    )
    assert loaded.train.lr == 0.05 and isinstance(loaded.train.lr, float)
    assert loaded.model.n_layer == 2
    assert loaded.model.afrac is None
    assert loaded.train.target_fraction == 1 / 16
    assert loaded.train.compile is True
    assert loaded.train.betas == (0.9, 0.95)
    assert load_config(path).to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    "override, match",
    [
        ("train.nope=1", "train.nope"),
        ("model.nope=1", "model.nope"),
        ("nope.lr=1", "model.NAME or train.NAME"),
        ("train.steps=1.5", "integer"),
        ("train.compile=maybe", "true or false"),
        ("train.lr", "table.key=value"),
    ],
)
def test_bad_overrides(override: str, match: str) -> None:
    with pytest.raises(UserError, match=match):
        apply_overrides(RunConfig(), [override])


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr=1")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config(bad)
    extra = tmp_path / "extra.toml"
    extra.write_text("[optim]\nlr = 1\n")
    with pytest.raises(UserError, match=r"\[optim\]"):
        load_config(extra)


def test_validate_ranges() -> None:
    cfg = RunConfig()
    cfg.train.target_fraction = 0
    with pytest.raises(UserError, match="target_fraction"):
        cfg.train.validate()
