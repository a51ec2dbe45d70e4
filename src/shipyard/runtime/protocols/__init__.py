"""Thin translators between the wire protocols (KServe V1, Open Inference Protocol V2) and the
Python values a :class:`~shipyard.runtime.model.ServedModel` takes and returns."""
