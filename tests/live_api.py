"""The real control-plane app, in this process, for the SDK's and the CLI's tests.

``LiveApi`` builds what ``shipyard server`` builds (SQLite store, artifact storage, environment
manager, controller, ``create_app``) but with the in-package ``FakeBackend`` instead of real
processes, and serves it with uvicorn on a free loopback port in a thread. The SDK and the CLI
then talk to it over real HTTP, so their tests exercise the production API (routing,
validation, error mapping, status assembly) rather than a hand-written imitation of it.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from contextlib import closing
from pathlib import Path
from types import TracebackType

import uvicorn

from shipyard.api.app import create_app
from shipyard.api.services import Services
from shipyard.api.usage_history import UsageHistory
from shipyard.backends.fake import FakeBackend
from shipyard.backends.registry import BackendRegistry
from shipyard.controller.reconcile import Controller
from shipyard.environments.manager import EnvironmentManager
from shipyard.registry.storage import ArtifactStorage
from shipyard.server import bootstrap_key, prepare_home
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool
from shipyard.store import Store, open_store

MIB = 1024 * 1024


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveApi:
    """The API app over SQLite and ``FakeBackend`` (replicas READY at once), on a free port.

    Attributes:
        host: The API's base URL (``http://127.0.0.1:<port>``).
        api_key: The default project's administrator key.
        backend: The fake backend (its replicas, logs; ``crash()`` to make one fail).
        store: The store the app uses.
    """

    def __init__(
        self,
        home: Path,
        *,
        backend: FakeBackend | None = None,
        tools: tuple[ServingTool, ...] = (ServingTool.LOCAL,),
    ) -> None:
        self.settings = ServerSettings(
            home=home,
            api_port=free_port(),
            gateway_port=free_port(),
            reconcile_interval_s=0.05,
            restart_backoff_s=0.05,
            preload_replicas=False,
        )
        self.backend = backend or FakeBackend(capacity=Capacity(cores=8, memory=32768, gpus=0))
        self.tools = tools  # the serving tools the fake backend runs (LOCAL by default)
        self.host = f"http://127.0.0.1:{self.settings.api_port}"
        self.api_key = ""
        self.store: Store | None = None
        self.usage = UsageHistory()  # what /usage answers (tests record into it)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _services(self, store: Store) -> Services:
        environments = EnvironmentManager(self.settings)
        backends = BackendRegistry()
        for tool in self.tools:
            backends.add_replicas(tool, self.backend)
        controller = Controller(
            store=store, backends=backends, settings=self.settings, environments=environments
        )
        storage = ArtifactStorage(
            self.settings.artifacts_dir, max_upload_bytes=64 * MIB, max_unpacked_bytes=256 * MIB
        )
        return Services(
            settings=self.settings,
            store=store,
            storage=storage,
            controller=controller,
            environments=environments,
            internal_token=secrets.token_urlsafe(16),
        )

    def __enter__(self) -> LiveApi:
        prepare_home(self.settings)
        self.store = open_store(self.settings.resolved_database_url)
        key = bootstrap_key(self.store, self.settings.api_key_file)
        assert key is not None
        self.api_key = key
        app = create_app(self._services(self.store), usage_history=self.usage)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.settings.api_port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="live-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            assert self._thread.is_alive(), "the API thread died while starting"
            assert time.monotonic() < deadline, "the API did not start within 30 s"
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.store is not None:
            self.store.close()
