"""Transformer for the iris example (Hopsworks style: a class named Transformer).

Clients send raw measurements in millimetres; the model was trained on centimetres and answers
class ids, which clients should not need to know.
"""

SPECIES = ["setosa", "versicolor", "virginica"]


class Transformer:
    def preprocess(self, inputs):
        """Millimetres -> centimetres; a malformed row is the caller's fault (ValueError)."""
        rows = []
        for row in inputs:
            if not isinstance(row, list) or len(row) != 4:
                raise ValueError(f"each instance needs 4 measurements in mm, got {row!r}")
            rows.append([float(value) / 10.0 for value in row])
        return rows

    def postprocess(self, outputs):
        """Class ids -> species names."""
        return [SPECIES[int(class_id)] for class_id in outputs]
