"""The data path's shared vocabulary: what the gateway and the replica runtime both speak.

Standard library only (the replica runtime imports it inside users' environments), and a leaf:
it imports nothing of Shipyard but :mod:`shipyard.http1`'s message types. One module per
concept: :mod:`~shipyard.wire.routes` (the routing-table entry), :mod:`~shipyard.wire.paths`
(the V1/V2 path grammar, as a table), :mod:`~shipyard.wire.keys` (API keys),
:mod:`~shipyard.wire.bundle` (several requests in one body, versioned),
:mod:`~shipyard.wire.binary` (the V2 binary tensor data extension's framing),
:mod:`~shipyard.wire.headers` (shared headers and the header-value rule),
:mod:`~shipyard.wire.addresses` (TCP and Unix-socket URLs) and
:mod:`~shipyard.wire.coalescer` (the gathering policy of the gateway's bundler and the replica's
batcher). :mod:`shipyard.http1` keeps only HTTP.
"""
