"""Runtime images for cluster pods: one per environment key, built and pushed to the registry.

The DOCKER tool's image builder (:mod:`shipyard.backends.docker.images`) makes an image of an
environment (its lock on its base image, plus Shipyard's standard-library runtime) and, with
``SHIPYARD_IMAGE_REGISTRY`` set, pushes it there; the cluster pulls the same tag. A component
with a built environment gets that environment's image; one without (EMBEDDED) gets the
server's own versions of its framework's packages, as on DOCKER.

Builds take minutes, so they run in the background: until an image is ready, asking for it
raises :class:`ImageNotReady` (the cluster backend then applies nothing yet and asks again on
the next pass); a failed build raises its error once, and the next ask starts it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from shipyard.backends.docker.images import ImageRecipe
from shipyard.backends.docker.recipes import embedded_recipe, environment_recipe
from shipyard.backends.kubernetes.component import ImageNotReady
from shipyard.backends.protocol import ComponentSpec
from shipyard.spec.environment import EnvironmentPhase

log = logging.getLogger("shipyard.backends.kubernetes")


class ImageBuilding(Protocol):
    """The part of the image builder this module uses (a fake in tests)."""

    def tag(self, recipe: ImageRecipe) -> str: ...

    def ensure(self, recipe: ImageRecipe, on_line: Callable[[str], None]) -> str: ...


class RegistryImages:
    """``RuntimeImages`` from the image builder: the tag once it is built and pushed."""

    def __init__(
        self,
        builder: ImageBuilding,
        environments_dir: Path,
        *,
        base_image: str,
        index_url: str | None = None,
        workers: int = 1,
    ) -> None:
        self._builder = builder
        self._venvs = environments_dir / "venvs"
        self._base_image = base_image
        self._index_url = index_url
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="k8s-image")
        self._builds: dict[str, Future[str]] = {}
        self._lock = threading.Lock()

    def recipe(self, spec: ComponentSpec) -> ImageRecipe:
        """The environment's own recipe when it was built, else the server's packages'."""
        env = spec.environment
        if env is not None and env.key and env.phase is EnvironmentPhase.READY:
            python = self._venvs / env.key / "bin" / "python"
            return environment_recipe(python, self._index_url)
        return embedded_recipe(spec.framework, self._base_image, self._index_url)

    def __call__(self, spec: ComponentSpec) -> str:
        """The image of ``spec``'s component.

        Raises:
            ImageNotReady: It is being built (started now if it was not).
            ModelServeError: The build failed (the next call starts it again).
        """
        recipe = self.recipe(spec)
        tag = self._builder.tag(recipe)
        with self._lock:
            build = self._builds.get(tag)
            if build is None:
                log.info("building the runtime image %s for %s", tag, spec.deployment_name)
                build = self._pool.submit(self._builder.ensure, recipe, log.info)
                self._builds[tag] = build
        if not build.done():
            raise ImageNotReady(f"building the runtime image {tag}")
        error = build.exception()
        if error is not None:
            with self._lock:
                self._builds.pop(tag, None)
            raise error
        return build.result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
