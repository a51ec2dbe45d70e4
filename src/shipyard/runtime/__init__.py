"""The per-replica model server, started by a backend as ``python -m shipyard.runtime``.

It runs inside the user's environment, so it imports only the standard library, ``starlette``,
``uvicorn``, ``shipyard.errors`` and its own modules; numeric libraries are imported lazily by
the loader that needs them. Nothing here runs at import time.
"""
