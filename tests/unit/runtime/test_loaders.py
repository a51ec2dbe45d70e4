"""Detection order and the loaders of every model format, on tiny model directories."""

from __future__ import annotations

import pickle

import joblib
import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.linear_model import LogisticRegression

from shipyard.errors import InvalidInput, ModelServeError
from shipyard.runtime.config import RuntimeConfig
from shipyard.runtime.loaders import detect
from shipyard.runtime.model import InputKind

from .conftest import IRIS_X, IRIS_Y, write

pytestmark = pytest.mark.unit

SYNC_PREDICTOR = """
import os
from helper import double  # a sibling module: the script's directory is importable

class Predictor:
    def __init__(self):
        self.files = os.environ.get("MODEL_FILES_PATH")

    def predict(self, inputs):
        return [double(sum(row)) for row in inputs]
"""

ASYNC_PREDICT = """
class Predict:
    async def predict(self, inputs):
        return {"echo": inputs}
"""

PACKAGE = """
import pandas as pd

class Model:
    def predict(self, input_df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": input_df.sum(axis=1), "rows": len(input_df)})

def get_model():
    return Model()
"""


def config(tmp_path, **kwargs):
    return RuntimeConfig(model_dir=tmp_path, **kwargs)


async def load(tmp_path, **kwargs):
    model = detect(config(tmp_path, **kwargs))
    await model.load()
    return model


def sklearn_model():
    return LogisticRegression(max_iter=500).fit(np.array(IRIS_X), np.array(IRIS_Y))


async def test_sync_predictor_script_with_sibling_import(tmp_path):
    write(tmp_path, "helper.py", "def double(x):\n    return 2 * x\n")
    write(tmp_path, "predictor.py", SYNC_PREDICTOR)
    model = await load(tmp_path)
    assert (model.platform, model.input_kind) == ("python", InputKind.PYTHON)
    assert await model.predict([[1, 2], [3, 4]]) == [6, 14]


async def test_async_predict_class_in_any_single_script(tmp_path):
    write(tmp_path, "notes.py", "X = 1\n")
    write(tmp_path, "serving.py", ASYNC_PREDICT)
    model = await load(tmp_path)
    assert model.source.endswith("serving.py")
    assert await model.predict([1]) == {"echo": [1]}


def test_predictor_py_wins_over_predict_py_and_package_and_model_files(tmp_path):
    for name in ("predict.py", "package.py", "predictor.py"):
        write(tmp_path, name, ASYNC_PREDICT)
    joblib.dump(sklearn_model(), tmp_path / "model.joblib")
    assert detect(config(tmp_path)).source.endswith("predictor.py")
    (tmp_path / "predictor.py").unlink()
    assert detect(config(tmp_path)).source.endswith("predict.py")


def test_several_candidate_scripts_are_ambiguous(tmp_path):
    write(tmp_path, "a.py", ASYNC_PREDICT)
    write(tmp_path, "b.py", ASYNC_PREDICT)
    with pytest.raises(ModelServeError, match=r"a\.py, b\.py"):
        detect(config(tmp_path))


async def test_fiddler_package_gets_a_dataframe(tmp_path):
    write(tmp_path, "package.py", PACKAGE)
    model = await load(tmp_path, framework="python")
    assert (model.platform, model.input_kind) == ("python-package", InputKind.DATAFRAME)
    out = await model.predict(pd.DataFrame({"a": [1, 2], "b": [3, 4]}))
    assert out.to_dict(orient="list") == {"total": [4, 6], "rows": [2, 2]}


async def test_explicit_script_is_used_even_when_others_exist(tmp_path):
    write(tmp_path, "predictor.py", SYNC_PREDICTOR)
    script = write(tmp_path, "other.py", ASYNC_PREDICT)
    model = await load(tmp_path, script=script)
    assert await model.predict([2]) == {"echo": [2]}


async def test_script_without_predictor_or_get_model_fails_to_load(tmp_path):
    script = write(tmp_path, "x.py", "VALUE = 1\n")
    model = detect(config(tmp_path, script=script))
    with pytest.raises(ModelServeError, match="neither class Predictor"):
        await model.load()


async def test_transformer_chains_preprocess_and_postprocess(tmp_path):
    source = (
        "class Transformer:\n"
        "    def preprocess(self, inputs):\n        return [x + 1 for x in inputs]\n"
        "    async def postprocess(self, outputs):\n        return {'out': outputs}\n"
    )
    script = write(tmp_path, "transformer.py", source)
    model = await load(tmp_path, component="transformer", script=script)
    assert await model.predict([1]) == {"out": [2]}


@pytest.mark.parametrize("suffix", [".joblib", ".pkl", ".pickle"])
async def test_sklearn_pickles(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    if suffix == ".pickle":
        path.write_bytes(pickle.dumps(sklearn_model()))
    else:
        joblib.dump(sklearn_model(), path)
    write(tmp_path, "input_example.json", "[]")
    model = await load(tmp_path, framework="sklearn")
    assert (model.platform, model.input_kind) == ("sklearn", InputKind.NDARRAY)
    assert (await model.predict(np.array(IRIS_X[:2]))).tolist() == [0, 0]
    with pytest.raises(InvalidInput, match="features"):
        await model.predict(np.array([[1.0, 2.0]]))


async def test_xgboost_native_booster_and_pickled_wrapper(tmp_path):
    train = xgboost.DMatrix(np.array(IRIS_X), label=np.array(IRIS_Y))
    booster = xgboost.train({"objective": "binary:logistic"}, train, num_boost_round=3)
    booster.save_model(tmp_path / "model.json")
    write(tmp_path, "model_schema.json", "{}")
    model = await load(tmp_path, framework="xgboost")
    assert model.platform == "xgboost"
    scores = await model.predict(np.array(IRIS_X[:2]))
    assert scores.shape == (2,)
    assert all(0.0 <= s <= 1.0 for s in scores)

    other = tmp_path / "pickled"
    other.mkdir()
    wrapper = xgboost.XGBClassifier(n_estimators=2).fit(np.array(IRIS_X), np.array(IRIS_Y))
    joblib.dump(wrapper, other / "model.pkl")
    model = await load(other, framework="xgboost")
    assert model.platform == "xgboost"
    assert (await model.predict(np.array(IRIS_X[:1]))).shape == (1,)


async def test_lightgbm_text_model(tmp_path):
    data = lightgbm.Dataset(np.array(IRIS_X * 4), label=np.array(IRIS_Y * 4))
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 1}
    lightgbm.train(params, data, num_boost_round=2).save_model(tmp_path / "model.txt")
    write(tmp_path, "requirements.txt", "lightgbm\n")
    model = await load(tmp_path, framework="lightgbm")
    assert model.platform == "lightgbm"
    assert (await model.predict(np.array(IRIS_X[:3]))).shape == (3,)
    with pytest.raises(InvalidInput, match="number of features"):
        await model.predict(np.array([[1.0, 2.0]]))


def test_without_framework_the_suffix_decides(tmp_path):
    joblib.dump(sklearn_model(), tmp_path / "clf.joblib")
    assert detect(config(tmp_path)).platform == "sklearn"
    (tmp_path / "clf.joblib").unlink()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.ubj").write_bytes(b"")
    assert detect(config(tmp_path)).platform == "xgboost"


def test_several_model_files_prefer_model_star_else_fail(tmp_path):
    for name in ("a.pkl", "model.pkl"):
        joblib.dump(sklearn_model(), tmp_path / name)
    assert detect(config(tmp_path, framework="sklearn")).source.endswith("model.pkl")
    (tmp_path / "model.pkl").rename(tmp_path / "b.pkl")
    with pytest.raises(ModelServeError, match="several model files"):
        detect(config(tmp_path, framework="sklearn"))


@pytest.mark.parametrize(
    ("framework", "listed"),
    [
        ("sklearn", "a sklearn model file (*.joblib, *.pkl, *.pickle)"),
        ("python", "no model file (--framework python has none)"),
        (None, "*.ubj, *.bst, *.json, *.txt"),
    ],
)
def test_nothing_found_lists_what_was_looked_for(tmp_path, framework, listed):
    write(tmp_path, "README.md", "hello")
    with pytest.raises(ModelServeError) as caught:
        detect(config(tmp_path, framework=framework))
    message = str(caught.value)
    assert "predictor.py, predict.py" in message
    assert "package.py with get_model()" in message
    assert listed in message


def test_missing_script_and_directory_are_reported(tmp_path):
    with pytest.raises(ModelServeError, match="does not exist"):
        detect(config(tmp_path, script=tmp_path / "nope.py"))
    with pytest.raises(ModelServeError, match="MODEL_FILES_PATH"):
        detect(config(tmp_path / "missing"))
    with pytest.raises(ModelServeError, match="transformer needs --script"):
        detect(config(tmp_path, component="transformer"))


def test_a_model_under_a_dot_folder_is_found_but_hidden_files_inside_it_are_not(tmp_path):
    from shipyard.runtime.loaders.frameworks import find_model_file

    home = tmp_path / ".shipyard" / "artifacts" / "m" / "1"  # the default data directory
    home.mkdir(parents=True)
    (home / "model.joblib").write_bytes(b"x")
    (home / ".cache").mkdir()
    (home / ".cache" / "other.joblib").write_bytes(b"x")
    assert find_model_file(home, "sklearn") == home / "model.joblib"
