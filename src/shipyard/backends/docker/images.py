"""Environments become images: one image per environment key, built once, reused by all.

A recipe is a base image plus the packages to install: the environment's lock (installed with
``uv pip sync``) or, for a component with no environment (EMBEDDED on LOCAL), the server's own
versions of its framework's packages. The build runs a container of the base image with this
server's ``uv`` binary and uv cache bind-mounted (so packages downloaded for LOCAL builds are
not downloaded again) and the server's CA bundle (to reach the index through the same
proxies the server does), installs into ``/opt/shipyard/venv``, adds the Shipyard replica runtime
(standard library only: ``shipyard.runtime``, ``shipyard.http1`` and any other stdlib-only
package it imports) under ``/opt/shipyard/runtime``, precompiles bytecode, then commits the
container as the image with labels (key, base, lock hash, runtime hash) and a non-root user.
Neither ``uv`` nor the cache stays in the image. With a registry set, the image is tagged for
it, pulled from it when another server built it already, and pushed after a build.

A build goes through :data:`STEPS` (base image, packages, runtime, bytecode, commit and push);
the step it is in is a build log line and :meth:`ImageBuilder.progress`, which every replica
waiting for the image reports as its status.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.backends.docker.engine import ContainerRequest, Engine, EngineError, Mount
from shipyard.errors import ModelServeError
from shipyard.runtime.files import runtime_sources

VENV = "/opt/shipyard/venv"
RUNTIME = "/opt/shipyard/runtime"
RUNTIME_UID = 10001
LABEL = "io.shipyard.environment"
_FAILURE_MEMORY_S = 30.0  # a failed key is not rebuilt by every restart within this time
STEP_MARK = "::shipyard-step "
"""A build script line announcing its next step (replaced by the step's words)."""
STEPS = ("base", "packages", "runtime", "bytecode", "image")
"""The steps of a build, in order (see :meth:`ImageBuilder.progress`)."""


def step_text(step: str, recipe: ImageRecipe, registry: str | None) -> str:
    """What one build step does, in the words the status shows (``step i/n: ...``)."""
    count = len(recipe.packages)
    packages = f"{count} {'locked ' if recipe.locked else ''}package{'' if count == 1 else 's'}"
    what = {
        "base": f"getting the base image {recipe.base_image}",
        "packages": f"installing {packages} with uv (bytecode compiled)",
        "runtime": "adding the Shipyard runtime",
        "bytecode": "compiling the runtime's bytecode",
        "image": "committing the image" + (f" and pushing it to {registry}" if registry else ""),
    }[step]
    return f"step {STEPS.index(step) + 1}/{len(STEPS)}: {what}"


class ImageBuildFailed(ModelServeError):
    """An environment's image could not be built; the message is the builder's reason."""


@dataclass(frozen=True)
class ImageRecipe:
    """What goes into one environment image."""

    key: str  # the environment key (or the embedded recipe's own hash)
    base: str  # catalogue reference, for labels and messages
    base_image: str
    packages: tuple[str, ...]
    locked: bool = True  # True: a full lock (uv pip sync); False: pins uv resolves
    index_url: str | None = None

    @property
    def lock_hash(self) -> str:
        return hashlib.sha256("\n".join(self.packages).encode()).hexdigest()[:16]


def runtime_hash() -> str:
    digest = hashlib.sha256()
    for path, rel in runtime_sources():
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def prune(engine: Engine, *, everything: bool, on_line: Callable[[str], None]) -> list[str]:
    """Remove environment images of an older Shipyard runtime (or all with ``everything``)
    that no container uses; the tags removed."""
    current = runtime_hash()
    removed = []
    for image in engine.images(f"{LABEL}.key"):
        if not everything and image.labels.get(f"{LABEL}.runtime") == current:
            continue
        for tag in image.tags:
            if engine.remove_image(tag):
                removed.append(tag)
                on_line(f"removed {tag}")
            else:
                on_line(f"kept {tag}: a container uses it")
    return removed


def build_script(recipe: ImageRecipe) -> str:
    """The shell script the build container runs (``/build`` holds uv, the lock, the runtime)."""
    index = f" --index-url {recipe.index_url}" if recipe.index_url else ""
    install = (
        f"/build/uv pip sync /build/requirements.txt --python {VENV}/bin/python"
        if recipe.locked
        else f"/build/uv pip install -r /build/requirements.txt --python {VENV}/bin/python"
    )
    return "\n".join(
        [
            "set -eu",
            "export UV_CACHE_DIR=/uv-cache UV_LINK_MODE=copy UV_NO_PROGRESS=1",
            f"echo '{STEP_MARK}packages'",
            f"/build/uv venv {VENV} --python python3 --no-project",
            f"{install} --compile-bytecode{index}",
            f"echo '{STEP_MARK}runtime'",
            f"mkdir -p {RUNTIME} && cp -r /build/runtime/shipyard {RUNTIME}/",
            f"echo '{STEP_MARK}bytecode'",
            f"{VENV}/bin/python -m compileall -q {RUNTIME}",
            "chmod -R a+rX /opt/shipyard",
            "echo built",
        ]
    )


@dataclass
class ImageBuilder:
    """Builds and finds environment images in one engine (blocking: run it in a thread)."""

    engine: Engine
    uv_binary: Path
    uv_cache: Path
    work_dir: Path
    registry: str | None = None
    scope: str = ""  # a label value naming this server (its containers and builds)
    ca_bundle: Path | None = None  # CA certificates the build trusts (the server's own)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _failed: dict[str, tuple[float, str]] = field(default_factory=dict)
    _building: set[str] = field(default_factory=set)  # names of this process's build containers
    _progress: dict[str, str] = field(default_factory=dict)  # tag -> the step its build is in
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def sweep(self) -> list[str]:
        """Remove build containers of this scope that no build of this process runs (left by
        a server that died mid-build); their names."""
        found = self.engine.containers(
            {"io.shipyard.scope": self.scope, "io.shipyard.role": "build"}
        )
        gone = [c.name for c in found if c.name not in self._building]
        for name in gone:
            self.engine.remove(name)
        return gone

    def progress(self, tag: str) -> str | None:
        """Where the build of ``tag`` is (``building image T: step i/n: ...``), or None when
        no build of it runs (every replica waiting for the image sees the same step)."""
        step = self._progress.get(tag)
        return f"building image {tag}: {step}" if step else None

    def _step(
        self, tag: str, recipe: ImageRecipe, step: str, on_line: Callable[[str], None]
    ) -> None:
        """Enter ``step``: the progress every waiting replica shows, and a build log line."""
        self._progress[tag] = text = step_text(step, recipe, self.registry)
        on_line(text)

    def tag(self, recipe: ImageRecipe) -> str:
        name = f"shipyard/env:{recipe.key}-{runtime_hash()}"
        return f"{self.registry.rstrip('/')}/{name}" if self.registry else name

    def ensure(self, recipe: ImageRecipe, on_line: Callable[[str], None]) -> str:
        """The image of ``recipe``, built now unless it exists; its tag.

        Raises:
            ImageBuildFailed: The base image is missing, or the build or push failed.
        """
        tag = self.tag(recipe)
        with self._guard:
            lock = self._locks.setdefault(tag, threading.Lock())
        with lock:
            if self.engine.image_labels(tag) is not None:
                return tag
            failed = self._failed.get(tag)
            if failed is not None and time.monotonic() - failed[0] < _FAILURE_MEMORY_S:
                raise ImageBuildFailed(failed[1])
            if self.registry:
                self._progress[tag] = f"looking for it in {self.registry} first"
                if self._pulled(tag):
                    self._progress.pop(tag, None)
                    return tag
            try:
                self._build_and_push(recipe, tag, on_line)
            except ImageBuildFailed as exc:
                self._failed[tag] = (time.monotonic(), exc.message)
                raise
            finally:
                self._progress.pop(tag, None)
            self._failed.pop(tag, None)
            return tag

    def _build_and_push(
        self, recipe: ImageRecipe, tag: str, on_line: Callable[[str], None]
    ) -> None:
        self._build(recipe, tag, on_line)
        if self.registry:
            on_line(f"pushing {tag}")
            try:
                self.engine.push(tag, on_line)
            except EngineError as exc:
                raise ImageBuildFailed(exc.message) from exc

    def _pulled(self, tag: str) -> bool:
        try:
            self.engine.pull(tag)
        except EngineError:
            return False
        return True

    def _ensure_base(self, recipe: ImageRecipe, on_line: Callable[[str], None]) -> None:
        if self.engine.image_labels(recipe.base_image) is not None:
            return
        on_line(f"pulling the base image {recipe.base_image}")
        try:
            self.engine.pull(recipe.base_image)
        except EngineError as exc:
            raise ImageBuildFailed(
                f"base image {recipe.base_image} (of {recipe.base}) is not in the engine and "
                f"could not be pulled ({exc.message}); make it locally with "
                f"`shipyard images bootstrap --tag {recipe.base_image}`"
            ) from exc

    def _context(self, recipe: ImageRecipe, folder: Path) -> None:
        shutil.copy2(self.uv_binary, folder / "uv")
        (folder / "requirements.txt").write_text("\n".join(recipe.packages) + "\n")
        for path, rel in runtime_sources():
            dest = folder / "runtime" / "shipyard" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        (folder / "build.sh").write_text(build_script(recipe))
        for path in folder.rglob("*"):
            path.chmod(0o755 if path.is_dir() or path.name == "uv" else 0o644)
        folder.chmod(0o755)

    def _build(self, recipe: ImageRecipe, tag: str, on_line: Callable[[str], None]) -> None:
        self._step(tag, recipe, "base", on_line)
        self._ensure_base(recipe, on_line)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.uv_cache.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        on_line(f"building {tag} from {recipe.base_image} ({len(recipe.packages)} packages)")
        with tempfile.TemporaryDirectory(prefix="build-", dir=self.work_dir) as tmp:
            context = Path(tmp)
            self._context(recipe, context)
            name = f"shipyard-build-{recipe.key}-{int(time.time() * 1000) % 10**8}"
            self._building.add(name)
            try:
                container = self.engine.run(
                    ContainerRequest(
                        name=name,
                        image=recipe.base_image,
                        command=["sh", "/build/build.sh"],
                        env={"SSL_CERT_FILE": "/etc/shipyard-ca.crt"} if self.ca_bundle else {},
                        labels={
                            f"{LABEL}.build": recipe.key,
                            "io.shipyard.scope": self.scope,
                            "io.shipyard.role": "build",
                        },
                        mounts=(
                            Mount(str(context), "/build"),
                            Mount(str(self.uv_cache), "/uv-cache", read_only=False),
                            *(
                                [Mount(str(self.ca_bundle), "/etc/shipyard-ca.crt")]
                                if self.ca_bundle
                                else []
                            ),
                        ),
                        read_only=False,
                    )
                )
            except EngineError as exc:
                raise ImageBuildFailed(f"image build of {recipe.base}: {exc.message}") from exc
            try:
                self._finish(container.id, recipe, tag, on_line)
            finally:
                self.engine.remove(container.id)
                self._building.discard(name)
        on_line(f"built {tag} in {time.monotonic() - started:.1f} s")

    def _finish(
        self, container: str, recipe: ImageRecipe, tag: str, on_line: Callable[[str], None]
    ) -> None:
        tail: list[str] = []
        for line in self.engine.follow(container):
            step = line.strip().removeprefix(STEP_MARK)
            if step != line.strip() and step in STEPS:
                self._step(tag, recipe, step, on_line)
                continue
            tail = [*tail[-29:], line]
            on_line(line)
        code = self.engine.wait(container, timeout_s=60)
        if code != 0:
            reason = " ".join(line.strip() for line in tail[-8:] if line.strip())
            raise ImageBuildFailed(
                f"environment {recipe.base} could not be built into an image "
                f"(exit code {code}): {reason}"
            )
        labels = {
            f"{LABEL}.key": recipe.key,
            f"{LABEL}.base": recipe.base,
            f"{LABEL}.lock": recipe.lock_hash,
            f"{LABEL}.runtime": runtime_hash(),
        }
        changes = [
            f"ENV PATH={VENV}/bin:/usr/local/bin:/usr/bin:/bin VIRTUAL_ENV={VENV}",
            f"ENV PYTHONPATH={RUNTIME} PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp",
            f"USER {RUNTIME_UID}:{RUNTIME_UID}",
            "WORKDIR /tmp",
            'CMD ["python", "-m", "shipyard.runtime"]',
            "LABEL " + " ".join(f'{k}="{v}"' for k, v in labels.items()),
        ]
        self._step(tag, recipe, "image", on_line)
        try:
            self.engine.commit(container, tag, changes)
        except EngineError as exc:
            raise ImageBuildFailed(exc.message) from exc
