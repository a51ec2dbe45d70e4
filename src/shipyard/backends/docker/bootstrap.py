"""Make a Python base image from Debian packages, with no registry: ``shipyard images bootstrap``.

Air-gapped engines (and this project's tests) cannot pull ``python:3.11-slim``. This builds the
same kind of base locally: ``debootstrap --variant=minbase --include=python3`` into a temporary
folder, a non-root ``shipyard`` user (uid 10001) added, then ``docker import`` of the folder as a
tarball under the catalogue's image name. Needs root (debootstrap chroots) and a Debian mirror
(or its proxy/cache). When the tag names a Python version (``python:3.11-slim``) the
bootstrapped ``python3`` must be that version, so environments locked for it run unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shipyard.backends.docker.engine import Engine
from shipyard.errors import ShipyardError

DEFAULT_TAG = "python:3.11-slim"  # what the built-in catalogue entries name
DEFAULT_MIRROR = "http://deb.debian.org/debian"
RUNTIME_UID = 10001
LABEL = "io.shipyard.bootstrap"


@dataclass(frozen=True)
class BootstrapRequest:
    tag: str = DEFAULT_TAG
    suite: str | None = None  # default: this machine's Debian codename
    mirror: str = DEFAULT_MIRROR
    force: bool = False


def host_suite() -> str:
    """The Debian codename of this machine (``bookworm``), default of the suite."""
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8")
    except OSError:
        text = ""
    found = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.MULTILINE)
    return found.group(1) if found else "bookworm"


def wanted_python(tag: str) -> str | None:
    """The Python version a tag promises (``python:3.11-slim`` -> ``3.11``), if any."""
    found = re.match(r"^(?:.*/)?python:(\d+\.\d+)", tag)
    return found.group(1) if found else None


def _run(argv: list[str], on_line: Callable[[str], None]) -> None:
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-19:], line]
            on_line(line)
        if proc.wait() != 0:
            raise ShipyardError(
                f"{argv[0]} failed with exit code {proc.returncode}: " + " | ".join(tail[-5:])
            )


def _python_version(root: Path) -> str:
    found = sorted(root.glob("usr/bin/python3.*[0-9]"))
    return found[-1].name.removeprefix("python") if found else "?"


def _add_user(root: Path) -> None:
    with (root / "etc/passwd").open("a", encoding="utf-8") as passwd:
        passwd.write(f"shipyard:x:{RUNTIME_UID}:{RUNTIME_UID}:Shipyard replica:/tmp:/bin/sh\n")
    with (root / "etc/group").open("a", encoding="utf-8") as group:
        group.write(f"shipyard:x:{RUNTIME_UID}:\n")


def bootstrap(engine: Engine, request: BootstrapRequest, on_line: Callable[[str], None]) -> str:
    """Make ``request.tag`` in ``engine`` (unless it is there and not ``force``); its tag.

    Raises:
        ShipyardError: Not root, debootstrap missing or failing, a Python version other than
            the tag promises, or the engine refusing the import.
    """
    labels = engine.image_labels(request.tag)
    if labels is not None and not request.force:
        on_line(f"{request.tag} is already in the engine (use --force to make it again)")
        return request.tag
    if os.geteuid() != 0:
        raise ShipyardError("images bootstrap runs debootstrap, which needs root")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise ShipyardError("debootstrap is not installed: apt-get install -y debootstrap")
    suite = request.suite or host_suite()
    with tempfile.TemporaryDirectory(prefix="shipyard-bootstrap-") as tmp:
        root = Path(tmp) / "rootfs"
        on_line(f"debootstrap {suite} (minbase + python3) from {request.mirror}")
        _run(
            [debootstrap, "--variant=minbase", "--include=python3", suite, str(root),
             request.mirror],
            on_line,
        )  # fmt: skip
        version = _python_version(root)
        wanted = wanted_python(request.tag)
        if wanted is not None and not version.startswith(wanted):
            raise ShipyardError(
                f"{suite} has Python {version}, but the tag {request.tag} promises {wanted}: "
                "pick a suite with that Python or another --tag"
            )
        _add_user(root)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tarball = Path(tmp) / "rootfs.tar"
        on_line(f"packing the root filesystem (Python {version})")
        _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], on_line)
        on_line(f"docker import as {request.tag}")
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
            f"LABEL {LABEL}.suite={suite} {LABEL}.python={version}",
        ]
        engine.import_image(tarball, request.tag, changes)
    return request.tag
