"""Requirements resolved at upload: on the resolver pool, bounded, busy uploads told to retry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shipyard.environments import manager as manager_module
from shipyard.environments.manager import EnvironmentManager, EnvironmentRequest
from shipyard.errors import NotReady
from shipyard.settings import ServerSettings

pytestmark = pytest.mark.unit


class HeldManager(EnvironmentManager):
    """Resolutions wait until the test releases them, and say which thread ran them."""

    def __init__(self, settings: ServerSettings) -> None:
        super().__init__(settings)
        self.release = threading.Event()
        self.threads: list[str] = []

    def _resolve_now(self, request: EnvironmentRequest) -> list[str]:
        self.threads.append(threading.current_thread().name)
        self.release.wait(10)
        return ["numpy==2.1.0"]


def test_uploads_resolve_on_the_pool_and_too_many_waiting_are_told_to_retry(
    tmp_path: Path,
) -> None:
    envs = HeldManager(ServerSettings(home=tmp_path))
    request = EnvironmentRequest(envs.catalogue.get("shipyard/python"), ("numpy",), "x")
    queue = manager_module.UPLOAD_QUEUE
    with ThreadPoolExecutor(queue) as uploads:
        waiting = [uploads.submit(envs.check_resolvable, request) for _ in range(queue)]
        resolvers = manager_module.UPLOAD_RESOLVERS
        for _ in range(1000):  # every upload queued, the pool busy (bounded: 10 s)
            if envs.uploads_waiting == queue and len(envs.threads) == resolvers:
                break
            threading.Event().wait(0.01)
        with pytest.raises(NotReady, match=f"{queue} uploads are resolving"):
            envs.check_resolvable(request)
        assert len(envs.threads) == resolvers  # at most this many at once
        envs.release.set()
        assert [w.result(10) for w in waiting] == [["numpy==2.1.0"]] * queue
    assert all(name.startswith("resolve") for name in envs.threads)
    assert envs.check_resolvable(request) == ["numpy==2.1.0"]  # room again
