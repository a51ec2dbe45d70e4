"""The push path against a real registry: an environment image built with
``SHIPYARD_IMAGE_REGISTRY`` set is pushed, the registry's v2 API holds it (tag, manifest, the
config with Shipyard's labels), and a second server pulls it instead of building it again.

The registry is Debian's ``docker-registry`` on loopback (``eval "$(bash .ci/registry.sh
start)"`` exports ``SHIPYARD_TEST_REGISTRY``); the engine needs no setting for it, since Docker
allows plain HTTP to registries on 127.0.0.0/8.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest
import uv

from shipyard.backends.docker.images import ImageBuilder, ImageRecipe, runtime_hash
from shipyard.backends.docker.sdk import DockerEngine
from tests.integration.docker.conftest import ca_bundle, uv_cache

pytestmark = [pytest.mark.integration, pytest.mark.docker]
MANIFESTS = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


@pytest.fixture(scope="module")
def registry() -> str:
    address = os.environ.get("SHIPYARD_TEST_REGISTRY")
    if not address:
        reason = 'SHIPYARD_TEST_REGISTRY is not set (eval "$(bash .ci/registry.sh start)")'
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the registry test: {reason}")
        pytest.skip(f"no registry: {reason}")
    return address


def server_builder(engine: DockerEngine, registry: str, work: Path) -> ImageBuilder:
    """The image builder a server with ``SHIPYARD_IMAGE_REGISTRY=registry`` has."""
    return ImageBuilder(
        engine=engine,
        uv_binary=Path(uv.find_uv_bin()),
        uv_cache=uv_cache(),
        work_dir=work,
        registry=registry,
        scope="shipyard-tests",
        ca_bundle=ca_bundle(),
    )


def test_a_built_image_is_pushed_and_a_second_server_pulls_it(
    engine: DockerEngine, base_image: str, registry: str, tmp_path: Path
) -> None:
    key = f"push-{uuid.uuid4().hex[:12]}"  # a new key: built and pushed now
    recipe = ImageRecipe(key=key, base="shipyard/python", base_image=base_image,
                         packages=("idna==3.20",))  # fmt: skip
    first = server_builder(engine, registry, tmp_path / "first")
    tag = first.tag(recipe)
    assert tag == f"{registry}/shipyard/env:{key}-{runtime_hash()}"
    lines: list[str] = []
    try:
        assert first.ensure(recipe, lines.append) == tag
        assert f"pushing {tag}" in lines

        with httpx.Client(base_url=f"http://{registry}/v2", timeout=30) as api:
            tags = api.get("/shipyard/env/tags/list")
            assert tags.status_code == 200, tags.text
            assert f"{key}-{runtime_hash()}" in tags.json()["tags"]
            manifest = api.get(
                f"/shipyard/env/manifests/{key}-{runtime_hash()}", headers={"Accept": MANIFESTS}
            )
            assert manifest.status_code == 200, manifest.text
            assert manifest.headers["docker-content-digest"].startswith("sha256:")
            body = manifest.json()
            assert body["schemaVersion"] == 2 and body["layers"]
            config = api.get(f"/shipyard/env/blobs/{body['config']['digest']}")
            assert config.status_code == 200
            labels = config.json()["config"]["Labels"]
            assert labels["io.shipyard.environment.key"] == key
            assert labels["io.shipyard.environment.lock"] == recipe.lock_hash

        assert engine.remove_image(tag)  # a second server on an engine without the image
        assert engine.image_labels(tag) is None
        again: list[str] = []
        second = server_builder(engine, registry, tmp_path / "second")
        assert second.ensure(recipe, again.append) == tag
        assert not any(line.startswith("step ") for line in again), again  # pulled, not built
        assert (engine.image_labels(tag) or {}).get("io.shipyard.environment.key") == key
    finally:
        if engine.image_labels(tag) is not None:
            engine.remove_image(tag)
