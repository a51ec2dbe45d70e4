"""The inference data plane: its own process (``python -m shipyard.gateway``).

Serves KServe V1 and Open Inference Protocol V2 to clients, authenticates their API keys and
forwards each request to a ready replica of the named deployment, following a routing table
long-polled from the control plane (``docs/contracts.md`` section 2). Modules:

- :mod:`~shipyard.gateway.table`: the immutable routing table and the replica picker
  (least outstanding requests);
- :mod:`~shipyard.gateway.sync`: the long-poll client that swaps tables in;
- :mod:`~shipyard.gateway.auth`: API-key parsing and hashing;
- :mod:`~shipyard.gateway.protocol`: which V1/V2 endpoint a path names;
- :mod:`~shipyard.gateway.proxy`: forwarding with retries on connection failures;
- :mod:`~shipyard.gateway.metrics`: Prometheus metrics in a per-gateway registry;
- :mod:`~shipyard.gateway.app`: ``create_app(settings)``, the ASGI application.
"""
