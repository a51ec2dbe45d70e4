"""Model registry: create, save (pack + multipart upload), fetch, download, against the real
API app (``tests.live_api``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidInput, InvalidSpec, NotFound
from shipyard.sdk import ModelRegistry, Project

pytestmark = pytest.mark.integration


@pytest.fixture
def mr(project: Project) -> ModelRegistry:
    return project.get_model_registry()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    root = tmp_path / "model_dir"
    (root / "sub").mkdir(parents=True)
    (root / "__pycache__").mkdir()
    (root / "predictor.py").write_text(
        "class Predictor:\n    def predict(self, x):\n        return x\n"
    )
    (root / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (root / "sub" / "transformer.py").write_text("class Transformer: ...\n")
    (root / "__pycache__" / "predictor.cpython-311.pyc").write_bytes(b"junk")
    return root


def test_save_packs_the_directory_and_uploads_it(mr: ModelRegistry, model_dir: Path) -> None:
    model = mr.sklearn.create_model(
        "iris", metrics={"accuracy": 0.97}, description="first", input_example=[[5.1, 3.5]]
    )
    assert model.version is None and model.framework == "sklearn"

    assert model.save(model_dir) is model

    assert (model.version, model.name) == (1, "iris")
    assert model.files == ["predictor.py", "sub/transformer.py", "weights.bin"]  # no __pycache__
    assert model.checksum is not None and model.checksum.startswith("sha256:")
    assert model.size_bytes is not None and model.size_bytes > 2000
    stored = mr.get_model("iris", 1)
    assert (stored.framework, stored.description) == ("sklearn", "first")
    assert (stored.metrics, stored.input_example) == ({"accuracy": 0.97}, [[5.1, 3.5]])
    assert (stored.checksum, stored.files) == (model.checksum, model.files)


def test_versions_auto_increment(mr: ModelRegistry, model_dir: Path) -> None:
    first = mr.python.create_model("m").save(model_dir)
    second = mr.python.create_model("m").save(model_dir)
    assert (first.version, second.version) == (1, 2)
    assert [m.version for m in mr.get_models("m")] == [1, 2]
    assert mr.get_model("m").version == 2
    assert mr.get_model("m", version=1).version == 1


def test_requested_version_must_be_the_next_one(mr: ModelRegistry, model_dir: Path) -> None:
    mr.python.create_model("m", version=1).save(model_dir)
    with pytest.raises(InvalidSpec, match="next one is 2"):
        mr.python.create_model("m", version=5).save(model_dir)


def test_a_deleted_newest_version_number_is_not_the_next_one(
    mr: ModelRegistry, model_dir: Path
) -> None:
    for _ in range(3):
        mr.python.create_model("m").save(model_dir)
    mr.get_model("m", version=3).delete()  # the registry never gives 3 again
    with pytest.raises(InvalidSpec, match="next one is 4"):
        mr.python.create_model("m", version=3).save(model_dir)
    assert mr.python.create_model("m", version=4).save(model_dir).version == 4
    assert [m.version for m in mr.get_models("m")] == [1, 2, 4]


def test_save_a_single_file(mr: ModelRegistry, model_dir: Path) -> None:
    model = mr.xgboost.create_model("boost").save(model_dir / "weights.bin")
    assert model.files == ["weights.bin"]
    assert mr.get_model("boost").framework == "xgboost"


def test_progress_callback_reaches_the_total(mr: ModelRegistry, model_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    mr.python.create_model("m").save(
        model_dir, progress=lambda done, total: calls.append((done, total))
    )
    assert calls and calls[-1][0] == calls[-1][1] > 0


def test_missing_path_is_invalid_input(mr: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="neither a file nor a directory"):
        mr.python.create_model("m").save(tmp_path / "nope")


def test_model_schema_is_refused_not_ignored(mr: ModelRegistry) -> None:
    with pytest.raises(InvalidSpec, match="model_schema is not supported yet"):
        mr.python.create_model("m", model_schema={"columns": []})


def test_non_json_input_example_is_invalid_input(mr: ModelRegistry, model_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="input_example"):
        mr.python.create_model("m", input_example=object()).save(model_dir)


def test_get_unknown_model_is_not_found(mr: ModelRegistry) -> None:
    with pytest.raises(NotFound, match="'ghost'"):
        mr.get_model("ghost")


def test_list_models(mr: ModelRegistry, model_dir: Path) -> None:
    mr.python.create_model("a").save(model_dir)
    mr.python.create_model("a").save(model_dir)
    [summary] = mr.list_models()
    assert (summary.name, summary.latest_version, summary.versions) == ("a", 2, 2)


def test_download_round_trip(mr: ModelRegistry, model_dir: Path, tmp_path: Path) -> None:
    mr.python.create_model("m").save(model_dir)
    dest = Path(mr.get_model("m").download(tmp_path / "out"))
    assert (dest / "predictor.py").read_text() == (model_dir / "predictor.py").read_text()
    assert (dest / "sub" / "transformer.py").exists()


def test_unsaved_model_cannot_be_downloaded(mr: ModelRegistry) -> None:
    with pytest.raises(NotFound, match="not been saved"):
        mr.python.create_model("m").download()


def test_framework_by_name(mr: ModelRegistry, model_dir: Path) -> None:
    mr.framework("LightGBM").create_model("m").save(model_dir)
    assert mr.get_model("m").framework == "lightgbm"
    with pytest.raises(InvalidSpec, match="unknown framework 'torch'"):
        mr.framework("torch")
