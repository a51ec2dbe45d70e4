"""Shipyard's benchmark suite: Shipyard and its peers, same machine, same model, same load.

Run it with ``bash bench/run.sh`` (``--quick`` for short durations); see ``bench/README.md``.
Nothing here is imported by ``shipyard``: the suite drives the server, its gateway and the peers
from the outside, as users do. Scratch files live in ``bench/_work/`` (gitignored).
"""
