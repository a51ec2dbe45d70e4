"""The bootstrap command's checks and the image names it and the builder use (no engine)."""

from __future__ import annotations

import pytest

from shipyard.backends.docker.bootstrap import BootstrapRequest, bootstrap, wanted_python
from shipyard.backends.docker.engine import ContainerRequest
from shipyard.backends.docker.images import prune, runtime_hash
from shipyard.backends.docker.sdk import split_image
from tests.unit.backends.docker.fake_engine import FakeEngine

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("python:3.11-slim", "3.11"),
        ("registry.local:5000/python:3.12", "3.12"),
        ("shipyard/debian-python:bookworm", None),
    ],
)
def test_a_tag_promises_a_python_version_only_when_it_says_so(tag: str, version: str | None):
    assert wanted_python(tag) == version


@pytest.mark.parametrize(
    ("image", "split"),
    [
        ("python:3.11-slim", ("python", "3.11-slim")),
        ("shipyard/env:abc-123", ("shipyard/env", "abc-123")),
        ("127.0.0.1:5000/shipyard/env", ("127.0.0.1:5000/shipyard/env", "latest")),
        ("127.0.0.1:5000/shipyard/env:k", ("127.0.0.1:5000/shipyard/env", "k")),
    ],
)
def test_image_names_split_into_repository_and_tag(image: str, split: tuple[str, str]):
    assert split_image(image) == split


def test_an_image_already_there_is_not_made_again() -> None:
    engine = FakeEngine(images_={"python:3.11-slim": {}})
    lines: list[str] = []
    assert bootstrap(engine, BootstrapRequest(), lines.append) == "python:3.11-slim"
    assert "already in the engine" in lines[0]


def test_prune_removes_older_runtimes_images_that_no_container_uses() -> None:
    label = "io.shipyard.environment"
    engine = FakeEngine(
        images_={
            "shipyard/env:a-old": {f"{label}.key": "a", f"{label}.runtime": "old"},
            "shipyard/env:b-old": {f"{label}.key": "b", f"{label}.runtime": "old"},
            f"shipyard/env:a-{runtime_hash()}": {
                f"{label}.key": "a", f"{label}.runtime": runtime_hash()
            },
            "python:3.11-slim": {},
        }
    )  # fmt: skip
    engine.run(ContainerRequest(name="c", image="shipyard/env:b-old", command=[], env={},
                                labels={}))  # fmt: skip
    lines: list[str] = []
    assert prune(engine, everything=False, on_line=lines.append) == ["shipyard/env:a-old"]
    assert "kept shipyard/env:b-old: a container uses it" in lines
    assert prune(engine, everything=True, on_line=lines.append) == [
        f"shipyard/env:a-{runtime_hash()}"
    ]
    assert "python:3.11-slim" in engine.images_  # never an environment image
