"""The base-environment catalogue: built-ins, references, aliases, an administrator's entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.environments.catalogue import Catalogue
from shipyard.errors import AlreadyExists, InvalidSpec
from shipyard.spec.environment import BaseEnvironment

pytestmark = pytest.mark.unit


def test_builtins_are_data_with_pins_and_fiddler_aliases() -> None:
    catalogue = Catalogue.load()
    refs = [e.ref for e in catalogue.entries()]
    assert {"shipyard/python:1.0.0", "shipyard/machine-learning:1.0.0"} <= set(refs)
    assert "shipyard/deep-learning:1.0.0" in refs
    ml = catalogue.get("md-base/python/machine-learning:1.1.0")
    assert ml.name == "shipyard/machine-learning" and ml.builtin
    pinned = {p.split("==")[0] for p in ml.packages}
    assert {"numpy", "pandas", "scikit-learn", "xgboost-cpu", "lightgbm", "catboost"} <= pinned
    assert {"joblib", "shap"} <= pinned
    assert all("==" in p for p in ml.packages)
    assert catalogue.get("shipyard/python").packages == []
    assert "torch==2.13.0" in catalogue.get("shipyard/deep-learning").packages


def test_a_name_alone_is_its_newest_version(tmp_path: Path) -> None:
    entries = [
        BaseEnvironment(name="team/nlp", version=v, packages=[]) for v in ("1.2.0", "1.10.0", "1.9")
    ]
    catalogue = Catalogue(entries)
    assert catalogue.get("team/nlp").version == "1.10.0"
    assert catalogue.get("team/nlp:1.9").version == "1.9"


def test_an_unknown_reference_lists_the_known_ones() -> None:
    with pytest.raises(InvalidSpec) as caught:
        Catalogue.load().get("md-base/python/python-27:1.0", field="predictor.environment")
    message = caught.value.message
    assert message.startswith("predictor.environment: unknown base environment")
    assert "shipyard/machine-learning:1.0.0" in message
    assert caught.value.details["errors"][0]["field"] == "predictor.environment"


def test_an_administrator_adds_entries_that_survive_a_reload(tmp_path: Path) -> None:
    admin = tmp_path / "catalogue"
    entry = BaseEnvironment(
        name="team/old-scipy", version="1", packages=["scipy==1.11.4"], aliases=["legacy:1"]
    )
    catalogue = Catalogue.load(admin).add(entry)
    assert catalogue.get("legacy:1").ref == "team/old-scipy:1"
    reloaded = Catalogue.load(admin)
    assert reloaded.get("team/old-scipy:1").packages == ["scipy==1.11.4"]
    assert not reloaded.get("team/old-scipy:1").builtin
    with pytest.raises(AlreadyExists):
        reloaded.add(entry)
    clash = BaseEnvironment(name="team/x", version="1", aliases=["shipyard/python:1.0.0"])
    with pytest.raises(InvalidSpec, match="already name another environment"):
        reloaded.add(clash)


def test_unreadable_administrator_files_are_skipped_not_fatal(tmp_path: Path) -> None:
    admin = tmp_path / "catalogue"
    admin.mkdir()
    (admin / "broken.json").write_text("{not json")
    (admin / "bad-name.json").write_text(json.dumps({"name": "Bad Name", "version": "1"}))
    (admin / "ok.toml").write_text('name = "team/ok"\nversion = "2"\npackages = ["six==1.16.0"]\n')
    (admin / "notes.txt").write_text("ignored")
    refs = [e.ref for e in Catalogue.load(admin).entries()]
    assert "team/ok:2" in refs
    assert not any("Bad" in r for r in refs)


def test_names_and_versions_are_checked() -> None:
    with pytest.raises(ValueError, match="environment name 'ML Base' is invalid"):
        BaseEnvironment(name="ML Base", version="1")
    with pytest.raises(ValueError, match="environment version '1 0' is invalid"):
        BaseEnvironment(name="ml", version="1 0")
