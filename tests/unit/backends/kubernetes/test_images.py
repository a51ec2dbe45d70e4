"""Runtime images built per environment in the background (RegistryImages), with a fake builder."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shipyard.backends.docker.images import ImageRecipe
from shipyard.backends.kubernetes.component import ImageNotReady
from shipyard.backends.kubernetes_images import RegistryImages
from shipyard.backends.protocol import ComponentSpec
from shipyard.errors import ModelServeError
from shipyard.spec.environment import EnvironmentInfo, EnvironmentPhase
from shipyard.spec.resources import ComponentResources


class Builder:
    """Builds when released; fails when told to."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.built: list[ImageRecipe] = []
        self.fail = False

    def tag(self, recipe: ImageRecipe) -> str:
        return f"registry.example.com/shipyard/env:{recipe.key}"

    def ensure(self, recipe: ImageRecipe, on_line) -> str:
        assert self.release.wait(10)
        if self.fail:
            raise ModelServeError("the base image python:3.11-slim cannot be pulled")
        self.built.append(recipe)
        return self.tag(recipe)


def component(env: EnvironmentInfo | None = None) -> ComponentSpec:
    return ComponentSpec(
        deployment_id="d", deployment_name="iris", project_id="p", component="predictor",
        revision=1, template="t", instances=1, model_name="iris", model_version=1,
        model_dir=Path("/unused"), framework="sklearn", script_file=None,
        resources=ComponentResources(), environment=env,
    )  # fmt: skip


def wait_built(images: RegistryImages, spec: ComponentSpec) -> str:
    for _ in range(500):
        try:
            return images(spec)
        except ImageNotReady:
            threading.Event().wait(0.01)
    raise AssertionError("the image was never built")


def test_an_image_is_built_once_in_the_background_then_its_tag_given(tmp_path):
    builder = Builder()
    images = RegistryImages(builder, tmp_path, base_image="python:3.11-slim")
    with pytest.raises(ImageNotReady, match="building the runtime image"):
        images(component())
    with pytest.raises(ImageNotReady):
        images(component())  # not started twice
    builder.release.set()
    tag = wait_built(images, component())
    assert tag.startswith("registry.example.com/shipyard/env:embedded-")
    assert len(builder.built) == 1 and builder.built[0].base_image == "python:3.11-slim"
    images.close()


def test_a_built_environment_gets_its_own_lock(tmp_path):
    venv = tmp_path / "venvs" / "k1"
    (venv / "bin").mkdir(parents=True)
    manifest = {"key": "k1", "base": "shipyard/ml:1", "image": "python:3.12-slim",
                "lock": "numpy==2.1.0\nscikit-learn==1.5.2\n"}  # fmt: skip
    (venv / "shipyard-environment.json").write_text(json.dumps(manifest))
    builder = Builder()
    builder.release.set()
    images = RegistryImages(builder, tmp_path, base_image="python:3.11-slim")
    env = EnvironmentInfo(key="k1", phase=EnvironmentPhase.READY, base="shipyard/ml:1")
    assert wait_built(images, component(env)) == "registry.example.com/shipyard/env:k1"
    assert builder.built[0].packages == ("numpy==2.1.0", "scikit-learn==1.5.2")
    images.close()


def test_a_failed_build_is_said_once_and_started_again_next_time(tmp_path):
    builder = Builder()
    builder.fail = True
    builder.release.set()
    images = RegistryImages(builder, tmp_path, base_image="python:3.11-slim")
    with pytest.raises(ModelServeError, match="cannot be pulled"):
        wait_built(images, component())
    builder.fail = False
    assert wait_built(images, component()).startswith("registry.example.com/")
    images.close()
