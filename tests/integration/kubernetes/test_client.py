"""ClusterApi's retries: what is retried, what is not, and what is said when it gives up."""

from __future__ import annotations

import asyncio
import socket

import pytest
from kubernetes import client as k8s

from shipyard.backends.kubernetes.client import ApiError, ClusterApi, ClusterUnavailable
from tests.integration.kubernetes.emulator import running_cluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "x", "namespace": "shipyard-demo"},
    "data": {"k": "v"},
}


def test_an_unreachable_api_server_is_retried_then_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    configuration = k8s.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.retries = False
    sleeps: list[float] = []
    api = ClusterApi(k8s.ApiClient(configuration), attempts=3, sleep=sleeps.append)
    with pytest.raises(ClusterUnavailable, match="failed 3 times: cannot reach the API server"):
        api.get("ConfigMap", "shipyard-demo", "x")
    assert sleeps == [0.2, 0.4]
    api.close()


async def test_a_refusal_is_not_retried_and_a_create_race_is_applied_over():
    async with running_cluster() as cluster:
        cluster.put("ConfigMap", "shipyard-demo", "x", CONFIG_MAP)
        cluster.fail_next("PATCH", 1, 422)
        with pytest.raises(ApiError) as caught:
            await asyncio.to_thread(cluster.api.apply, CONFIG_MAP)
        assert caught.value.status == 422 and cluster.sleeps == []
        # someone creates it between our apply (404) and our create (409): merged over it
        cluster.put("ConfigMap", "shipyard-demo", "x", {**CONFIG_MAP, "data": {"k": "theirs"}})
        cluster.fail_next("PATCH", 1, 404)  # as if it did not exist yet when we applied
        stored = await asyncio.to_thread(cluster.api.apply, CONFIG_MAP)
        assert stored["data"] == {"k": "v"}
        assert [method for method, _ in cluster.writes()][-3:] == ["PATCH", "POST", "PATCH"]
        assert cluster.sleeps == []
