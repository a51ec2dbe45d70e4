"""The README's snippets run as written, against a real server with real replicas.

Each fenced ``python``/``bash``/``console`` block of README.md is preceded by a marker:
``<!-- readme-test: run SESSION -->`` (run it) or ``<!-- readme-test: skip (why) -->``. The
blocks of one session run in README order as one program (Python blocks as one script, bash
blocks as one ``set -euo pipefail`` script), in a fresh directory holding ``model_dir/``, with
``SHIPYARD_HOST`` and ``SHIPYARD_API_KEY`` (a project of the session's own) set and ``shipyard``
on the PATH. A block without a marker fails the test, so the README cannot drift unnoticed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import REPO, Server, own_server

pytestmark = pytest.mark.integration

README = REPO / "README.md"
MARKER = re.compile(r"^\s*<!-- readme-test: (run (?P<session>[\w-]+)|skip \(.+\)) -->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\w*)\s*$")
RUN_S = 900  # the Fiddler session builds the machine-learning environment on a cold cache

PACKAGE_PY = '''
"""A Fiddler-style model: get_model() returns an object whose predict takes a DataFrame."""
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


class IrisModel:
    def __init__(self):
        x, y = load_iris(return_X_y=True)
        self.model = LogisticRegression(max_iter=500).fit(x, y)

    def predict(self, input_df):
        return pd.DataFrame({"species": self.model.predict(input_df.to_numpy(dtype=float))})


def get_model():
    return IrisModel()
'''


@dataclass
class Block:
    line: int
    lang: str
    code: str
    session: str | None  # None: skipped on purpose


@dataclass
class Session:
    name: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def lang(self) -> str:
        langs = {block.lang for block in self.blocks}
        assert len(langs) == 1, f"session {self.name} mixes {langs}"
        return langs.pop()

    def program(self) -> str:
        parts = [f"# README.md line {b.line}\n{b.code}" for b in self.blocks]
        if self.lang == "bash":
            return "set -euo pipefail\nset -x\n" + "\n".join(parts)
        return "\n".join(parts)


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` with its marker; fails on a block without one."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence or not fence["lang"]:
            i += 1
            continue
        start = i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        code = textwrap.dedent("\n".join(lines[start + 1 : end])) + "\n"
        marker = MARKER.match(lines[start - 1]) if start > 0 else None
        assert marker, (
            f"README.md line {start + 1}: the {fence['lang']} block has no marker; put "
            "'<!-- readme-test: run SESSION -->' or '<!-- readme-test: skip (why) -->' above it"
        )
        blocks.append(Block(start + 1, fence["lang"], code, marker["session"]))
        i = end + 1
    return blocks


def sessions() -> dict[str, Session]:
    out: dict[str, Session] = {}
    for block in readme_blocks(README.read_text()):
        if block.session is not None:
            out.setdefault(block.session, Session(block.session)).blocks.append(block)
    return out


def test_every_readme_block_is_run_or_skipped_on_purpose() -> None:
    found = sessions()
    assert set(found) == {"sdk", "cli", "fiddler"}
    assert {found["sdk"].lang, found["cli"].lang, found["fiddler"].lang} == {"python", "bash"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cache = Path.home() / ".cache" / "shipyard-tests" / "uv"  # shared with test_environments
    with own_server(tmp_path_factory.mktemp("readme"), SHIPYARD_UV_CACHE_DIR=str(cache)) as srv:
        yield srv


def project_key(server: Server, name: str) -> str:
    with server.client() as api:
        answer = api.post("/projects", json={"name": name})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["api_key"])


def run_session(server: Server, session: Session, workdir: Path, key: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    bin_dir = str(Path(sys.executable).parent)  # where `shipyard` is installed
    env.update(
        SHIPYARD_HOST=server.api,
        SHIPYARD_API_KEY=key,
        SHIPYARD_HOME=str(workdir / "client-home"),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
    )
    script = workdir / ("readme.sh" if session.lang == "bash" else "readme.py")
    script.write_text(session.program())
    command = ["bash", str(script)] if session.lang == "bash" else [sys.executable, str(script)]
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_S
    )
    output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, f"README session {session.name} failed:\n{output}"
    return done.stdout + done.stderr


def iris_workdir(root: Path, iris_dir: Path) -> Path:
    root.mkdir()
    shutil.copytree(iris_dir, root / "model_dir")
    return root


def deployment(server: Server, key: str, name: str) -> dict:
    with server.client(key) as api:
        answer = api.get(f"/deployments/{name}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_sdk_snippets_run_as_written(node: Server, tmp_path: Path, iris_dir: Path) -> None:
    key = project_key(node, "readme-sdk")
    out = run_session(node, sessions()["sdk"], iris_workdir(tmp_path / "sdk", iris_dir), key)
    assert "Traceback" not in out
    last = deployment(node, key, "iris")  # the transformer snippet's deployment, last
    assert last["status"]["state"] == "RUNNING"
    assert last["spec"]["transformer"]["resources"]["num_instances"] == 2
    with node.client(key) as api:
        revisions = api.get("/models/iris/versions").json()
    assert len(revisions) >= 1


def test_the_cli_snippets_run_as_written(node: Server, tmp_path: Path, iris_dir: Path) -> None:
    key = project_key(node, "readme-cli")
    out = run_session(node, sessions()["cli"], iris_workdir(tmp_path / "cli", iris_dir), key)
    assert '"predictions"' in out
    body = deployment(node, key, "iris")
    assert body["status"]["state"] == "RUNNING"
    assert body["revision"] == 4  # create, scale, update, rollback
    assert body["spec"]["predictor"]["model_version"] == 1  # revision 1's spec again
    assert body["spec"]["predictor"]["resources"]["num_instances"] == 2


def test_the_fiddler_snippet_runs_as_written(node: Server, tmp_path: Path) -> None:
    key = project_key(node, "example-project")  # the README's project_id='example_project'
    workdir = tmp_path / "fiddler"
    (workdir / "model_dir").mkdir(parents=True)
    (workdir / "model_dir" / "package.py").write_text(PACKAGE_PY)
    run_session(node, sessions()["fiddler"], workdir, key)
    body = deployment(node, key, "example-model")
    assert body["active"] is False  # the snippet stops it last
    resources = body["spec"]["predictor"]["resources"]
    assert resources["num_instances"] == 2
    assert resources["requests"]["cores"] == resources["limits"]["cores"] == 0.5
    assert body["spec"]["predictor"]["model_version"] == 2  # update_model_artifact
    with httpx.Client(base_url=node.api) as plain:
        assert plain.get("/healthz").status_code == 200
