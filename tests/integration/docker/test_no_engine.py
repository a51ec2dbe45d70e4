"""A server whose Docker engine does not answer still starts; DOCKER deployments fail with why.

Runs anywhere (no engine needed): the engine is a socket path that does not exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.docker.test_serving import deploy
from tests.integration.system.conftest import own_server, upload, wait_state

pytestmark = pytest.mark.integration


def test_a_server_without_an_engine_starts_and_fails_docker_deployments_with_the_reason(
    iris_model: Path, tmp_path: Path
) -> None:
    missing = f"unix://{tmp_path}/no-engine.sock"
    with own_server(tmp_path, SHIPYARD_DOCKER_HOST=missing) as srv, srv.client() as api:
        deploy(api, "nowhere", upload(api, "iris", iris_model), instances=1)
        status = wait_state(api, "nowhere", "FAILED", timeout=120)
        assert f"no Docker engine at {missing}" in str(status), status
