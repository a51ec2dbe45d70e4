#!/usr/bin/env bash
# Regenerate the gateway's V2 gRPC messages from src/shipyard/gateway/grpcv2/grpc_predict_v2.proto.
# The generated modules are committed (a wheel needs no build step); run this after editing the
# .proto and commit the result. Needs the dev group (grpcio-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
uv run --frozen python -m grpc_tools.protoc -I src \
  --python_out=src \
  src/shipyard/gateway/grpcv2/grpc_predict_v2.proto
