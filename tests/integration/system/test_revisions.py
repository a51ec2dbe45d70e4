"""Revision history and rollback against a real server and real replicas (SQLite and PostgreSQL).

The iris example is deployed, scaled from 1 to 2 instances, given a new memory limit, and rolled
back to revision 1; the history says who made each revision and what it changed.
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

import shipyard
from tests.integration.system.conftest import (
    SAMPLES,
    Server,
    state_of,
    upload,
    wait_until,
)

pytestmark = pytest.mark.integration

NAME = "iris-history"
REQUESTS = {"cores": 0.2, "memory": 64, "gpus": 0}


def _spec(model: dict, *, instances: int, limit_memory: int) -> dict:
    resources = {
        "num_instances": instances,
        "requests": REQUESTS,
        "limits": {"cores": 1.0, "memory": limit_memory, "gpus": 0},
    }
    predictor = {
        "model_name": model["name"],
        "model_version": model["version"],
        "script_file": "predictor.py",
        "resources": resources,
    }
    return {"name": NAME, "predictor": predictor}


def _put(api: httpx.Client, spec: dict) -> dict:
    answer = api.put(f"/deployments/{NAME}", json={"spec": spec})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _running_at(api: httpx.Client, revision: int, ready: int) -> dict:
    """Wait until the deployment runs ``revision`` with exactly ``ready`` READY replicas."""

    def check() -> dict | None:
        status = state_of(api, NAME)
        replicas = [r for r in status["replicas"] if r["phase"] == "READY"]
        current = status["observed_revision"] == revision and status["state"] == "RUNNING"
        return status if current and len(replicas) == ready else None

    status: dict = wait_until(check, 120, f"{NAME} RUNNING at revision {revision}", step=0.2)
    return status


def _revisions(api: httpx.Client) -> list[dict]:
    answer = api.get(f"/deployments/{NAME}/revisions")
    assert answer.status_code == 200, answer.text
    revisions: list[dict] = answer.json()
    return revisions


@pytest.fixture(scope="module")
def model(server: Server, iris_dir) -> dict:
    with server.client() as api:
        return upload(api, "iris-history", iris_dir)


@pytest.fixture(scope="module")
def rolled_back(server: Server, model: dict) -> dict:
    """Deploy (1 instance), scale to 2, lower the memory limit, then roll back to revision 1."""
    first = _spec(model, instances=1, limit_memory=1024)
    with server.client() as api:
        created = api.post("/deployments", json={"spec": first})
        assert created.status_code == 201, created.text
        _running_at(api, 1, ready=1)
        assert _put(api, _spec(model, instances=2, limit_memory=1024))["revision"] == 2
        _running_at(api, 2, ready=2)
        assert _put(api, _spec(model, instances=2, limit_memory=768))["revision"] == 3
        _running_at(api, 3, ready=2)
        before = _revisions(api)
        answer = api.post(f"/deployments/{NAME}/rollback", json={"revision": 1})
        assert answer.status_code == 200, answer.text
        return {
            "first": first,
            "project": api.get("/project").json()["name"],
            "before": before,
            "answer": answer.json(),
            "status": _running_at(api, 4, ready=1),
            "after": _revisions(api),
        }


def test_history_shows_who_made_each_revision_and_what_it_changed(rolled_back: dict) -> None:
    revisions, project = rolled_back["before"], rolled_back["project"]
    assert [(r["revision"], r["author"]) for r in revisions] == [
        (1, project),
        (2, project),
        (3, project),
    ]
    assert [r["changes"] for r in revisions] == [
        [],
        ["predictor.resources.num_instances: 1 -> 2"],
        ["predictor.resources.limits.memory: 1024 -> 768 MiB"],
    ]
    assert [r["change"] for r in revisions] == [
        "created",
        "predictor.resources.num_instances: 1 -> 2",
        "predictor.resources.limits.memory: 1024 -> 768 MiB",
    ]
    times = [datetime.fromisoformat(r["created_at"]) for r in revisions]
    assert times == sorted(times)
    assert (
        revisions[0]["spec"]["predictor"]["resources"]
        == rolled_back["first"]["predictor"]["resources"]
    )


def test_rollback_to_revision_one_runs_its_spec(server: Server, rolled_back: dict) -> None:
    first_spec = rolled_back["before"][0]["spec"]
    answer, status = rolled_back["answer"], rolled_back["status"]
    assert answer["revision"] == 4 and answer["spec"] == first_spec
    assert status["state"] == "RUNNING" and status["available_instances"] == {"predictor": 1}
    ready = [r for r in status["replicas"] if r["phase"] == "READY"]
    assert [r["revision"] for r in ready] == [4]  # old ones may still be draining

    last = rolled_back["after"][-1]
    assert (last["revision"], last["author"]) == (4, rolled_back["project"])
    assert last["spec"] == first_spec
    assert last["changes"] == [
        "predictor.resources.num_instances: 2 -> 1",
        "predictor.resources.limits.memory: 768 -> 1024 MiB",
    ]
    assert last["change"] == "rollback to revision 1; " + "; ".join(last["changes"])

    with httpx.Client(base_url=server.gateway, timeout=30) as gw:
        headers = {"Authorization": f"ApiKey {server.key}"}
        answer = gw.post(f"/v1/models/{NAME}:predict", json={"instances": SAMPLES}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [1, 1, 0]


def test_rollback_refusals(server: Server, rolled_back: dict) -> None:
    with server.client() as api:
        last = len(_revisions(api))
        unknown = api.post(f"/deployments/{NAME}/rollback", json={"revision": last + 5})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["message"] == (
            f"deployment '{NAME}' has no revision {last + 5}: its revisions are 1 to {last}"
        )
        same = api.post(f"/deployments/{NAME}/rollback", json={"revision": last})
        assert same.status_code == 409
        assert f"already has the spec of revision {last} (it is at revision {last})" in same.text
        dry = api.post(f"/deployments/{NAME}/rollback", json={"revision": 3, "dry_run": True})
        assert dry.status_code == 200, dry.text
        assert (dry.json()["dry_run"], dry.json()["revision"]) == (True, last + 1)
        assert len(_revisions(api)) == last  # a dry run stores nothing
        assert api.get("/deployments/ghost/revisions").status_code == 404


def test_the_sdk_reads_the_history_and_rolls_back(server: Server, rolled_back: dict) -> None:
    with shipyard.login(host=server.api, api_key=server.key) as project:
        deployment = project.get_model_serving().get_deployment(NAME)
        revisions = deployment.get_revisions()
        assert [r.revision for r in revisions][:4] == [1, 2, 3, 4]
        assert revisions[1].changes == ("predictor.resources.num_instances: 1 -> 2",)
        deployment.rollback(2, await_update=120)
        assert deployment.revision == len(revisions) + 1
        assert deployment.is_running(or_updating=False)
        assert deployment.predictor.resources.num_instances == 2
        assert deployment.get_revisions()[-1].change.startswith("rollback to revision 2; ")
