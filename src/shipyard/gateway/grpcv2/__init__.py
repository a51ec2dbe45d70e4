"""The gateway's Open Inference Protocol (V2) gRPC surface: ``GRPCInferenceService``.

:mod:`.translate` turns each call into the REST request the gateway already answers (the binary
tensor data extension, so tensors are never re-encoded as JSON) and the answer back into the
gRPC message; :mod:`.service` serves the calls with ``grpc.aio`` beside the HTTP server, through
the same :meth:`~shipyard.gateway.app.GatewayApp.handle` (keys, routing, retries, bundling and
holding from zero included). ``grpc_predict_v2_pb2*`` are generated from the ``.proto`` next to
them by ``scripts/gen_grpc.sh`` and committed.
"""
