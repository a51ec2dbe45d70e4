"""Train the iris example: a scikit-learn classifier saved with its predictor script.

Usage: python examples/iris/train.py OUT_DIR  -> OUT_DIR/{model.joblib, predictor.py}
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def train(out: Path) -> float:
    x, y = load_iris(return_X_y=True)  # ships inside scikit-learn: no download
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0)
    model = LogisticRegression(max_iter=500).fit(x_train, y_train)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    for script in ("predictor.py", "transformer.py"):
        shutil.copy(Path(__file__).with_name(script), out / script)
    return float(model.score(x_test, y_test))


if __name__ == "__main__":
    print(f"accuracy {train(Path(sys.argv[1])):.3f}")
