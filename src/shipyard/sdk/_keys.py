"""``KeyApi``: the API keys of the caller's project (list, create, revoke, rotate), and the
administrators' project list, deletion and quotas (issue 18)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.sdk._http import Connection


@dataclass(frozen=True)
class ApiKey:
    """A key as listed: its first characters, never its secret."""

    id: str
    prefix: str
    created_at: str
    read_only: bool
    is_admin: bool
    revoked_at: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> ApiKey:
        return cls(
            id=str(body["id"]),
            prefix=str(body["prefix"]),
            created_at=str(body["created_at"]),
            read_only=bool(body["read_only"]),
            is_admin=bool(body["is_admin"]),
            revoked_at=body.get("revoked_at"),
        )


@dataclass(frozen=True)
class NewKey:
    """A key just made: its listing and its secret (shown once: store it now)."""

    key: ApiKey
    api_key: str


class KeyApi:
    """Keys of the project the connection's key belongs to; projects for administrators."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def list_keys(self) -> list[ApiKey]:
        """The project's keys, oldest first (revoked ones with ``revoked_at``)."""
        return [ApiKey.of(k) for k in self.connection.json("GET", "/keys")]

    def create_key(self, *, read_only: bool = False) -> NewKey:
        """A new key: full, or ``read_only`` (predict and read)."""
        return _new(self.connection.json("POST", "/keys", json={"read_only": read_only}))

    def revoke_key(self, key_id: str) -> None:
        """Stop a key from working (the API at once, the gateway within seconds)."""
        self.connection.request("DELETE", f"/keys/{key_id}")

    def rotate_key(self, key_id: str) -> NewKey:
        """A new key with the same rights; ``key_id`` is revoked."""
        return _new(self.connection.json("POST", f"/keys/{key_id}/rotate"))

    def list_projects(self) -> list[dict[str, Any]]:
        """Every project with its quota (administrator key)."""
        projects: list[dict[str, Any]] = self.connection.json("GET", "/projects")
        return projects

    def delete_project(self, name: str) -> None:
        """Delete a project without deployments (administrator key)."""
        self.connection.request("DELETE", f"/projects/{name}")

    def set_quota(
        self,
        name: str,
        *,
        cores: float | None = None,
        memory: int | None = None,
        gpus: int | None = None,
        instances: int | None = None,
    ) -> dict[str, Any]:
        """Set a project's quota (None: no limit); returns the project (administrator key)."""
        body = {"cores": cores, "memory": memory, "gpus": gpus, "instances": instances}
        project: dict[str, Any] = self.connection.json("PUT", f"/projects/{name}/quota", json=body)
        return project


def _new(body: dict[str, Any]) -> NewKey:
    return NewKey(key=ApiKey.of(body["key"]), api_key=str(body["api_key"]))
