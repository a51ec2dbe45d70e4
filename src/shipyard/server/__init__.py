"""``shipyard server``: the composition root, and the process that runs what it composes.

One process serves the control-plane API and runs the reconciler loop. The gateway runs apart,
under its own supervisor process (:mod:`shipyard.gateway.supervisor`) in a session of its own:
the data plane outlives the control plane. If this server crashes, the gateway keeps serving
its last routing table; the next server on the same data directory adopts it (same settings,
same internal token, kept in the run directory) instead of starting an outage. A server that
stops on purpose stops its gateway.

The package, by job:

- :mod:`~shipyard.server.home`: the data directory's folders and owner-only files (API key,
  internal token);
- :mod:`~shipyard.server.compose`: builds every collaborator once (store, backends, controller,
  environments) into the API's :class:`~shipyard.api.services.Services`;
- :mod:`~shipyard.server.gateway_process`: starts, adopts, supervises and stops the gateway
  supervisor process;
- :mod:`~shipyard.server.shutdown`: the one stop request every way of stopping goes through,
  with its last-resort bound;
- :mod:`~shipyard.server.serve`: runs it all (``shipyard server``) until stopped.

It is imported only by ``shipyard server`` (the client install has none of its dependencies).
"""

from __future__ import annotations

from shipyard.server.compose import build_services
from shipyard.server.gateway_process import adopt_or_retire_gateway, gateway_env
from shipyard.server.home import bootstrap_key, internal_token, prepare_home
from shipyard.server.serve import run, serve

__all__ = [
    "adopt_or_retire_gateway",
    "bootstrap_key",
    "build_services",
    "gateway_env",
    "internal_token",
    "prepare_home",
    "run",
    "serve",
]
