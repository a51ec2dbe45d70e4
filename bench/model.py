"""The model every target serves, and its in-process floor (predict time with no HTTP at all).

The bench trains it itself (a logistic regression on iris, which ships inside scikit-learn) and
saves it with joblib; every server loads that same file.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

ROW = [6.8, 2.8, 4.8, 1.4]
"""The one row every request carries."""
MODEL_FILE = "model.joblib"


def train(folder: Path) -> Path:
    """Train and save the model; returns the path of ``model.joblib`` in ``folder``."""
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)  # type: ignore[no-untyped-call]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    joblib.dump(model, path)  # type: ignore[no-untyped-call]
    return path


@dataclass(frozen=True)
class Floor:
    """Per-call time of ``model.predict`` on one row, in microseconds."""

    calls: int
    p50_us: float
    p99_us: float
    mean_us: float


def floor(path: Path, *, calls: int = 20_000) -> Floor:
    """Time ``model.predict(np.asarray([ROW]))``, the least work any server must do per request."""
    model = joblib.load(path)  # type: ignore[no-untyped-call]
    for _ in range(200):  # warm caches and lazy imports
        model.predict(np.asarray([ROW]))
    samples = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        model.predict(np.asarray([ROW]))
        samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    return Floor(
        calls=calls,
        p50_us=samples[len(samples) // 2],
        p99_us=samples[int(len(samples) * 0.99)],
        mean_us=statistics.fmean(samples),
    )
