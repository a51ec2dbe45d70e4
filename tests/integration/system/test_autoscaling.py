"""Autoscaling on real replicas under a bounded real load: 1 -> at least 3 -> 1 instances,
with no failed request on the way up (6 clients) or down (1 client still sending)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.system.conftest import (
    Load,
    deploy,
    own_server,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration

SLOW = """
import time

class Predictor:
    def predict(self, inputs):
        time.sleep(0.2)  # keeps requests in flight: concurrency builds under load
        return inputs
"""


def ready(api, name: str) -> int:
    return sum(1 for r in state_of(api, name)["replicas"] if r["phase"] == "READY")


def test_autoscaling_from_1_to_at_least_3_and_back_drops_no_request(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "predictor.py").write_text(SLOW)
    scaling = {"min_instances": 1, "max_instances": 4, "target": 1.0, "stable_window_s": 3.0,
               "panic_window_s": 1.0, "scale_down_delay_s": 0.0}  # fmt: skip
    resources = {"num_instances": 1, "requests": {"cores": 0.1, "memory": 64},
                 "limits": {"cores": 1, "memory": 256}}  # fmt: skip
    with own_server(tmp_path) as node, node.client() as api:
        model = upload(api, "elastic", folder, framework="python")
        deploy(api, "elastic", model, script_file="predictor.py", scaling=scaling,
               resources=resources)  # fmt: skip
        wait_state(api, "elastic", "RUNNING")
        assert ready(api, "elastic") == 1
        with Load(node, "elastic", {"instances": [[1]]}, workers=6, max_s=150) as load:
            peak = wait_until(lambda: (n := ready(api, "elastic")) >= 3 and n, 90, "3 replicas")
        assert load.failures == [], load.failures[:5]
        assert load.ok > 0
        with Load(node, "elastic", {"instances": [[1]]}, workers=1, max_s=150) as light:
            wait_until(lambda: ready(api, "elastic") == 1 or None, 90, "back to 1 replica")
        assert light.failures == [], light.failures[:5]  # replicas drained, none dropped
        assert light.ok > 0
    assert peak >= 3
