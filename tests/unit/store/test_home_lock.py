"""The data-directory lock: held for the block, refused to a second holder naming the first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.errors import Conflict
from shipyard.store.home_lock import hold_home

pytestmark = pytest.mark.unit

OWNER = {"pid": 4242, "bind": "127.0.0.1", "api_port": 1, "gateway_port": 2, "started_at": "t"}


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    with hold_home(tmp_path, OWNER):
        assert json.loads((tmp_path / "server.lock").read_text()) == OWNER
        with pytest.raises(Conflict) as caught, hold_home(tmp_path, {"pid": 1}):
            pass
    message = caught.value.message
    assert f"the data directory {tmp_path} is in use by another Shipyard server" in message
    assert "pid 4242, API 127.0.0.1:1, gateway 127.0.0.1:2, started t" in message
    assert "--home or SHIPYARD_HOME" in message
    assert caught.value.details["holder"] == OWNER


def test_the_lock_is_released_after_the_block(tmp_path: Path) -> None:
    with hold_home(tmp_path, OWNER):
        pass
    assert (tmp_path / "server.lock").read_text() == ""
    with hold_home(tmp_path, {"pid": 7}):
        assert json.loads((tmp_path / "server.lock").read_text()) == {"pid": 7}


def test_a_holder_that_has_not_written_yet_is_named_as_starting(tmp_path: Path) -> None:
    with hold_home(tmp_path, OWNER):
        (tmp_path / "server.lock").write_text("")
        with pytest.raises(Conflict, match="a server that is starting"), hold_home(tmp_path, {}):
            pass
