"""Predictor script for the iris example (Hopsworks style: a class named Predictor)."""

import os

import joblib
import numpy as np


class Predictor:
    def __init__(self):
        # MODEL_FILES_PATH is the directory of this model version's files.
        self.model = joblib.load(os.path.join(os.environ["MODEL_FILES_PATH"], "model.joblib"))

    def predict(self, inputs):
        return self.model.predict(np.asarray(inputs, dtype=float)).tolist()
