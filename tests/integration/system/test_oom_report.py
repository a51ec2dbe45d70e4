"""An OOM kill is reported within 2 s of the kill, measured from the backend's own record of
it (``last_exit.at``) to the first status that shows it."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import deploy, own_server, state_of, upload, wait_state
from tests.integration.system.test_limits import HOG, limited, script_model

pytestmark = pytest.mark.integration


def test_an_oom_kill_is_reported_within_2_s(tmp_path: Path) -> None:
    with own_server(tmp_path) as node, node.client() as api:
        model = upload(api, "hog", script_model(tmp_path, "hog", HOG), framework="python")
        deploy(api, "hog", model, **limited(memory=200))
        wait_state(api, "hog", "RUNNING")
        kill = threading.Thread(
            target=lambda: httpx.post(
                f"{node.gateway}/v1/models/hog:predict",
                json={"instances": [1]},
                headers={"Authorization": f"ApiKey {node.key}"},
                timeout=60,
            )
        )
        kill.start()
        seen_at = None
        exit_ = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            exits = [r["last_exit"] for r in state_of(api, "hog")["replicas"] if r["last_exit"]]
            if exits and exits[0]["reason"] == "OOMKilled":
                seen_at, exit_ = time.time(), exits[0]
                break
            time.sleep(0.05)
        kill.join(timeout=60)
    assert exit_ is not None and seen_at is not None, "no OOM kill reported within 30 s"
    killed_at = datetime.fromisoformat(exit_["at"]).timestamp()
    delay = seen_at - killed_at
    print(f"OOM kill reported {delay:.2f} s after the kill")
    assert 0 <= delay <= 2.0, (delay, exit_)
