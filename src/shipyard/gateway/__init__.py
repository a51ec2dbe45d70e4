"""The inference data plane: its own process (``python -m shipyard.gateway``).

Serves KServe V1 and Open Inference Protocol V2 to clients, authenticates their API keys and
forwards each request to a ready replica of the named deployment, following a routing table
long-polled from the control plane (``docs/contracts.md`` section 2). Modules:

- :mod:`~shipyard.gateway.sync`: the long-poll client that swaps routing tables in (the table
  and its entry are :mod:`shipyard.wire.routes`; paths, keys and bundles are in
  :mod:`shipyard.wire` too, shared with the replica runtime);
- :mod:`~shipyard.gateway.picker`: the replica picker (least outstanding requests, ejection);
- :mod:`~shipyard.gateway.parser`: request parsing by llhttp (``httptools``) under
  :class:`shipyard.http1.HttpServer`;
- :mod:`~shipyard.gateway.upstream`: the pooled HTTP/1.1 client to replicas;
- :mod:`~shipyard.gateway.proxy`: forwarding, retrying only what never reached a replica;
- :mod:`~shipyard.gateway.bundling`: concurrent model calls leave as one bundle;
- :mod:`~shipyard.gateway.coldstart`: requests held while a deployment comes back from zero;
- :mod:`~shipyard.gateway.metrics`: Prometheus metrics in a per-gateway registry;
- :mod:`~shipyard.gateway.supervisor`: runs and replaces the worker processes, apart from the
  server, so the data plane outlives the control plane;
- :mod:`~shipyard.gateway.shared`: requests in flight and ejections shared by the workers;
- :mod:`~shipyard.gateway.services`: the worker's long-lived parts (pooled clients, route sync,
  forwarder, cold starts, repository, inference log) and their background tasks;
- :mod:`~shipyard.gateway.app`: ``create_app(settings)``, the handlers and the admission of
  each request head.
"""
