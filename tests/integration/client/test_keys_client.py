"""Keys, projects and quotas from the SDK and the CLI (issue 18, items 3 and 4), against the
real app (``tests.live_api``)."""

from __future__ import annotations

import json

import pytest

from shipyard.errors import Forbidden, Unauthorized
from shipyard.sdk import login

pytestmark = pytest.mark.integration


def test_the_sdk_lists_creates_rotates_and_revokes_keys(api, project) -> None:
    keys = project.get_key_api()
    reader = keys.create_key(read_only=True)
    assert reader.key.read_only and reader.api_key.startswith(reader.key.prefix)
    listed = keys.list_keys()
    assert [k.id for k in listed][-1] == reader.key.id and len(listed) == 2
    with login(api.host, reader.api_key) as as_reader:
        assert as_reader.get_model_registry() is not None
        with pytest.raises(Forbidden, match="read-only"):
            as_reader.get_key_api().create_key()
    rotated = keys.rotate_key(reader.key.id)
    assert rotated.key.read_only
    with pytest.raises(Unauthorized):
        login(api.host, reader.api_key)
    keys.revoke_key(rotated.key.id)
    with pytest.raises(Unauthorized):
        login(api.host, rotated.api_key)


def test_the_cli_manages_keys_projects_and_quotas(cli) -> None:
    made = cli("keys", "create", "--read-only")
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    listed = cli("keys", "list", "--json")
    keys = json.loads(listed.output)
    assert len(keys) == 2 and keys[1]["read_only"] and secret not in listed.output
    assert cli("keys", "revoke", keys[1]["id"]).exit_code == 0
    assert json.loads(cli("keys", "list", "--json").output)[1]["revoked_at"]
    assert cli("projects", "create", "team-a").exit_code == 0
    quota = cli("projects", "quota", "team-a", "--cores", "2", "--instances", "4")
    assert quota.exit_code == 0, quota.output
    projects = json.loads(cli("projects", "list", "--json").output)
    team = next(p for p in projects if p["name"] == "team-a")
    assert team["quota"]["cores"] == 2 and team["quota"]["instances"] == 4
    assert cli("projects", "delete", "team-a").exit_code == 0
    assert "team-a" not in cli("projects", "list").output
