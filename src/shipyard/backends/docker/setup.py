"""The image builder made from the server's settings: one place for the DOCKER tool (its
containers' images) and the cluster tools (the same images, pushed to the registry pods pull
from, :mod:`shipyard.backends.kubernetes_setup`)."""

from __future__ import annotations

from pathlib import Path

import uv

from shipyard.backends.docker.backend import scope_of
from shipyard.backends.docker.images import ImageBuilder
from shipyard.backends.docker.sdk import DockerEngine
from shipyard.settings import ServerSettings


def image_builder(settings: ServerSettings, engine: DockerEngine | None = None) -> ImageBuilder:
    """The builder of environment images on ``engine`` (default: the engine the settings name)."""
    return ImageBuilder(
        engine=engine or DockerEngine(settings.docker_host),
        uv_binary=Path(uv.find_uv_bin()),
        uv_cache=settings.resolved_uv_cache_dir,
        work_dir=settings.run_dir / "image-builds",
        registry=settings.image_registry,
        scope=scope_of(str(settings.home)),
        ca_bundle=settings.resolved_docker_ca_bundle,
    )
