"""``pip install shipyard`` gives the SDK and the CLI only; ``shipyard[server]`` the rest.

Installs the checkout into a fresh virtualenv (uv, from its cache or the package index) with no
extra, then checks that the client works there without FastAPI, SQLAlchemy or the other server
dependencies, and that ``shipyard server`` says how to get them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SERVER_ONLY = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "psycopg",
               "pydantic_settings", "prometheus_client", "multipart")  # fmt: skip

CLIENT_SCRIPT = """
import sys
import shipyard, shipyard.fiddler, shipyard.resources, shipyard.sdk
from shipyard import DeploymentParams, PredictorResources, Resources, login
from shipyard.cli.main import build_app
build_app()
resources = PredictorResources(num_instances=2, requests=Resources(cores=0.5, memory=256))
resources.num_instances = 3
print(DeploymentParams(cpu=250, memory=512).to_resources(resources).requests.cores)
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
print("server modules:", loaded)
"""


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("client") / "venv"
    uv = [sys.executable, "-m", "uv"]
    made = run(*uv, "venv", "--quiet", "--python", sys.executable, venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = run(*uv, "pip", "install", "--quiet", "--python", python, REPO)
    assert installed.returncode == 0, installed.stderr
    return venv


def test_the_client_install_has_no_server_dependencies(client_venv: Path) -> None:
    python = client_venv / "bin" / "python"
    for module in SERVER_ONLY:
        found = run(python, "-c", f"import importlib.util as u; print(u.find_spec({module!r}))")
        assert found.stdout.strip() == "None", f"{module} is installed: {found.stdout}"
    done = run(python, "-c", CLIENT_SCRIPT, *SERVER_ONLY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["0.25", "server modules: []"]


def test_the_cli_runs_and_server_says_how_to_install_it(client_venv: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    shipyard = client_venv / "bin" / "shipyard"
    helped = run(shipyard, "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    for command in ("deployments", "models", "projects", "environments", "server"):
        assert command in helped.stdout
    for command in ("deployments", "models", "deploy"):
        assert run(shipyard, command, "--help", env=env).returncode == 0
    server = run(shipyard, "server", env=env)
    assert server.returncode == 1
    assert "pip install 'shipyard[server]'" in server.stderr
