"""An environment builds from a folder of wheels with no network at all (a new net namespace).

The wheel folder holds the model's one requirement (a wheel made here; the replica runtime needs
nothing installed); the build runs inside `unshare --net`, where nothing but an unconnected
loopback exists, with an empty uv cache.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BUILD = """
import asyncio, json, subprocess, sys
from pathlib import Path
from shipyard.environments.manager import EnvironmentManager, EnvironmentRequest
from shipyard.settings import ServerSettings

async def main(root):
    settings = ServerSettings(
        home=root / "home", find_links=root / "wheels", offline=True, uv_cache_dir=root / "cache"
    )
    manager = EnvironmentManager(settings)
    base = manager.catalogue.get("shipyard/python")
    # two different requests that lock to the same set, asked for at the same time
    requests = [
        EnvironmentRequest(base, ("offline-probe==1.0",)),
        EnvironmentRequest(base, ("offline-probe>=1.0",)),
    ]
    for _ in range(600):
        infos = [manager.status(r) for r in requests]
        if all(i.phase in ("READY", "FAILED") for i in infos):
            break
        await asyncio.sleep(0.1)
    info, twin = infos
    builds = len(list((root / "home" / "environments" / "venvs").glob("*/bin/python")))
    probe = None
    if info.phase == "READY":
        code = "import offline_probe, shipyard.runtime.app; print(offline_probe.ANSWER)"
        env = {"PYTHONPATH": str(manager.runtime_path), "PATH": "/usr/bin:/bin"}
        probe = subprocess.run(
            [str(manager.python(info.key)), "-c", code], capture_output=True, text=True, env=env
        )
        probe = [probe.returncode, probe.stdout.strip(), probe.stderr[-2000:]]
    print(json.dumps({
        "info": info.model_dump(mode="json"), "twin": twin.model_dump(mode="json"),
        "builds": builds, "probe": probe,
    }))

asyncio.run(main(Path(sys.argv[1])))
"""


def _wheel(folder: Path) -> None:
    """A tiny pure-Python wheel made by hand (no build backend needed)."""
    files = {
        "offline_probe/__init__.py": b"ANSWER = 42\n",
        "offline_probe-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: offline-probe\nVersion: 1.0\n"
        ),
        "offline_probe-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("offline_probe-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(folder / "offline_probe-1.0-py3-none-any.whl", "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("offline_probe-1.0.dist-info/RECORD", "\n".join(record) + "\n")


def _isolated() -> list[str]:
    if os.geteuid() == 0 and shutil.which("unshare"):
        done = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
        if done.returncode == 0:
            return ["unshare", "--net"]
    pytest.skip("needs root and unshare to take the network away")


def test_an_environment_builds_from_a_wheel_folder_without_network(tmp_path: Path) -> None:
    isolate = _isolated()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels)  # the model's only requirement: the runtime itself needs nothing installed

    done = subprocess.run(
        [*isolate, sys.executable, "-c", BUILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    info = result["info"]
    assert info["phase"] == "READY", info["message"]
    assert "offline-probe==1.0" in info["packages"]
    assert result["probe"][:2] == [0, "42"], result["probe"]
    twin = result["twin"]
    assert twin["phase"] == "READY" and twin["key"] == info["key"]
    assert sorted([info["reused"], twin["reused"]]) == [False, True]  # built once
    assert result["builds"] == 1
