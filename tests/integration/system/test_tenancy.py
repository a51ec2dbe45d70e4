"""A model's code reaches only its own model (issue 18, item 1), against a real root server and
real replicas: a hostile predictor uploaded by a second project looks for the server's secrets
(its environment, ``$SHIPYARD_HOME``: keys, database, other projects' artifacts and logs), tries
the first project's replica (TCP port and Unix socket) and the API with whatever it found, and
gets nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.backends.identity import closed_folder
from tests.integration.system.conftest import (
    Server,
    deploy,
    kill_leftover_replicas,
    upload,
    wait_state,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-project uids need a root server"),
]
SERVER_SECRET = "hunter2-cloud-credential"

HOSTILE = r"""
import glob, json, os, socket, urllib.request


def attempt(action):
    try:
        return "GOT " + repr(action())[:200]
    except Exception as exc:
        return "refused " + type(exc).__name__


def read(path):
    return attempt(lambda: open(path, "rb").read())


def call(url, headers=None):
    def go():
        request = urllib.request.Request(url, headers=headers or {})
        return urllib.request.urlopen(request, timeout=5).read()
    return attempt(go)


def unix(path):
    def go():
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(5)
            conn.connect(path)
            conn.sendall(b"GET /v2/health/ready HTTP/1.1\r\nhost: x\r\n\r\n")
            return conn.recv(100)
    return attempt(go)


class Predictor:
    def predict(self, inputs):
        probe = inputs[0]
        home, found = probe["home"], {}
        found["uid"] = os.getuid()
        found["env"] = {k: v for k, v in os.environ.items()}
        found["server_environ"] = read(f"/proc/{probe['server_pid']}/environ")
        for name in ("api-key", "shipyard.db", "run/internal-token", "run/gateway-table.json"):
            found[name] = read(os.path.join(home, name))
        found["list_home"] = attempt(lambda: os.listdir(home))
        found["list_logs"] = attempt(lambda: os.listdir(os.path.join(home, "logs")))
        found["other_artifacts"] = attempt(lambda: os.listdir(probe["other_artifacts"]))
        found["other_model_file"] = read(probe["other_model_file"])
        found["other_replica_tcp"] = call(probe["other_url"] + "/v2/health/ready")
        found["other_replica_unix"] = unix(probe["other_socket"])
        found["other_replica_files"] = attempt(lambda: os.listdir(probe["other_folder"]))
        key = found["api-key"][4:].strip("'b\\n") if found["api-key"].startswith("GOT") else ""
        loot = {"Authorization": f"Bearer {key}"}
        found["api_with_loot"] = call(probe["api"] + "/deployments", loot)
        return [json.dumps(found)]
"""


@pytest.fixture(scope="module")
def node() -> Iterator[Server]:
    """A root server whose Python and home others may enter (pytest's own temporary folders
    and a Python under /root are closed): a venv of the system's Python seeing this checkout's
    packages, in a folder of its own under /tmp."""
    system_python = Path("/usr/bin/python3.11")
    if not system_python.exists() or closed_folder(system_python) is not None:
        pytest.skip("needs a Python 3.11 every user can run at /usr/bin/python3.11")
    root = Path(tempfile.mkdtemp(prefix="shipyard-tenancy-"))
    root.chmod(0o711)
    try:
        venv = root / "py"
        subprocess.run([str(system_python), "-m", "venv", "--without-pip", str(venv)], check=True)
        here = Path(sysconfig.get_paths()["purelib"])
        (venv / "lib" / "python3.11" / "site-packages" / "host.pth").write_text(
            f"import site; site.addsitedir({str(here)!r})\n"
        )
        srv = Server(
            home=root / "home",
            database_url=None,
            extra_env={"AWS_SECRET_ACCESS_KEY": SERVER_SECRET},
            python=str(venv / "bin" / "python"),
        )
        srv.start()
        try:
            yield srv
        finally:
            if srv.proc is not None:
                srv.stop()
            kill_leftover_replicas(srv.home)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _handle(node: Server, replica: dict) -> dict:
    handle: dict = json.loads(
        (node.home / "run" / "replicas" / f"{replica['id']}.json").read_text()
    )
    return handle


def test_a_hostile_predictor_of_another_project_gets_nothing(node: Server, iris_dir: Path) -> None:
    assert "per-project uid" in httpx.get(f"{node.api}/healthz").json()["replica_isolation"]
    with node.client() as admin:
        deploy(admin, "victim", upload(admin, "iris", iris_dir))
        [victim] = wait_state(admin, "victim", "RUNNING")["replicas"]
        created = admin.post("/projects", json={"name": "intruder"})
        assert created.status_code == 201, created.text
    victim_handle = _handle(node, victim)
    model_dir = Path(next((node.home / "artifacts").glob("*/iris/*")))
    hostile = node.home.parent / "hostile"
    hostile.mkdir()
    (hostile / "predictor.py").write_text(HOSTILE)
    with node.client(key=created.json()["api_key"]) as intruder:
        model = upload(intruder, "hostile", hostile, framework="python")
        deploy(intruder, "hostile", model, script_file="predictor.py")
        wait_state(intruder, "hostile", "RUNNING")
        probe = {
            "home": str(node.home),
            "server_pid": node.proc.pid if node.proc else 0,
            "other_artifacts": str(model_dir.parent.parent),
            "other_model_file": str(next(p for p in model_dir.rglob("*") if p.is_file())),
            "other_url": victim["url"],
            "other_socket": victim_handle["extra"].get("socket", ""),
            "other_folder": victim_handle["extra"]["dir"],
            "api": node.api,
        }
        with httpx.Client(base_url=node.gateway, timeout=30) as gw:
            answer = gw.post(
                "/v1/models/hostile:predict",
                json={"instances": [probe]},
                headers={"Authorization": f"ApiKey {created.json()['api_key']}"},
            )
    assert answer.status_code == 200, answer.text
    found = json.loads(answer.json()["predictions"][0])
    victim_uid = os.stat(f"/proc/{victim_handle['pid']}").st_uid
    assert found["uid"] >= 1_000_000_000 and victim_uid >= 1_000_000_000
    assert found["uid"] != victim_uid
    assert SERVER_SECRET not in json.dumps(found["env"])
    assert not [k for k in found["env"] if k.startswith("SHIPYARD_") and k != "SHIPYARD_REPLICA_ID"]
    for probe_name in (
        "server_environ", "api-key", "shipyard.db", "run/internal-token",
        "run/gateway-table.json", "list_home", "list_logs", "other_artifacts",
        "other_model_file", "other_replica_tcp", "other_replica_unix", "other_replica_files",
        "api_with_loot",
    ):  # fmt: skip
        assert found[probe_name].startswith("refused"), (probe_name, found[probe_name])
