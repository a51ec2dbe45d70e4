"""Keys you can manage (issue 18, item 3), over real HTTP against the real app
(``tests.live_api``): several keys per project listed without their secret, read-only keys
refused on changes, revoke and rotate, the gateway's key table following, and the project list
and delete for administrators."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shipyard.store.projects import hash_key
from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with LiveApi(tmp_path_factory.mktemp("keys") / "home") as api:
        yield api


def client(live: LiveApi, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{live.host}/api/v1", headers={"Authorization": f"ApiKey {key}"})


def _project(live: LiveApi, name: str) -> str:
    with client(live, live.api_key) as admin:
        made = admin.post("/projects", json={"name": name})
        assert made.status_code == 201, made.text
        key: str = made.json()["api_key"]
        return key


def test_keys_are_listed_by_prefix_and_time_never_the_secret(live: LiveApi) -> None:
    key = _project(live, "listing")
    with client(live, key) as api:
        second = api.post("/keys", json={}).json()
        listed = api.get("/keys").json()
    assert [k["id"] for k in listed][-1] == second["key"]["id"] and len(listed) == 2
    assert {k["prefix"] for k in listed} == {key[:8], second["api_key"][:8]}
    for entry in listed:
        assert set(entry) == {"id", "prefix", "created_at", "read_only", "is_admin", "revoked_at"}
        assert key not in str(entry) and second["api_key"] not in str(entry)


def test_a_read_only_key_reads_and_is_refused_on_changes(live: LiveApi) -> None:
    key = _project(live, "reader")
    with client(live, key) as api:
        reader = api.post("/keys", json={"read_only": True}).json()
    assert reader["key"]["read_only"] is True
    with client(live, reader["api_key"]) as ro:
        assert ro.get("/models").status_code == 200
        assert ro.get("/deployments").status_code == 200
        for method, path, body in (
            ("POST", "/keys", {}),
            ("POST", "/deployments", {"spec": {"name": "x"}}),
            ("DELETE", "/deployments/x", None),
        ):
            answer = ro.request(method, path, json=body)
            assert answer.status_code == 403 and "read-only" in answer.text, (method, path)
        upload = ro.post("/models/m/versions", files={"artifact": ("a.tgz", b"x" * 10)})
        assert upload.status_code == 403 and "read-only" in upload.text


def test_revoked_and_rotated_keys_stop_working_at_once(live: LiveApi) -> None:
    key = _project(live, "rotator")
    with client(live, key) as api:
        spare = api.post("/keys", json={}).json()
        assert hash_key(spare["api_key"]) in live.store.key_hashes()  # type: ignore[union-attr]
        assert api.delete(f"/keys/{spare['key']['id']}").status_code == 204
        rotated = api.post(f"/keys/{api.get('/keys').json()[0]['id']}/rotate").json()
    with client(live, spare["api_key"]) as revoked:
        assert revoked.get("/models").status_code == 401
    assert hash_key(spare["api_key"]) not in live.store.key_hashes()  # type: ignore[union-attr]
    with client(live, key) as old:
        assert old.get("/models").status_code == 401  # rotated away
    with client(live, rotated["api_key"]) as new:
        listed = new.get("/keys").json()
        assert new.get("/models").status_code == 200
    assert sum(k["revoked_at"] is None for k in listed) == 1


def test_a_project_cannot_revoke_another_projects_key(live: LiveApi) -> None:
    mine, theirs = _project(live, "mine"), _project(live, "theirs")
    with client(live, theirs) as api:
        their_id = api.get("/keys").json()[0]["id"]
    with client(live, mine) as api:
        assert api.delete(f"/keys/{their_id}").status_code == 404
    with client(live, theirs) as api:
        assert api.get("/models").status_code == 200


def test_administrators_list_and_delete_projects(live: LiveApi) -> None:
    key = _project(live, "doomed")
    with client(live, key) as api:
        assert api.get("/projects").status_code == 403
        assert api.delete("/projects/doomed").status_code == 403
    with client(live, live.api_key) as admin:
        assert "doomed" in [p["name"] for p in admin.get("/projects").json()]
        assert admin.delete("/projects/default").status_code == 409
        assert admin.delete("/projects/doomed").status_code == 204
        assert admin.delete("/projects/doomed").status_code == 404
    with client(live, key) as api:
        assert api.get("/models").status_code == 401
