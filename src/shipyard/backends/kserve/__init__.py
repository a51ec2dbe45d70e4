"""The KSERVE serving tool: one InferenceService per deployment on the user's cluster.

backend.py  ``KServeBackend``: applies the InferenceService (rendered by
            :mod:`shipyard.backends.cluster.kserve`) with the KUBERNETES backend's client
            and engine, and maps the InferenceService's conditions and URL to ours
"""
