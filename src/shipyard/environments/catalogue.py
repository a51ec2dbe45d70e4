"""The catalogue of base environments: built-in entries shipped as data, plus an administrator's.

Built-ins are TOML files in ``shipyard/environments/builtin``; an administrator adds more as
``*.toml`` or ``*.json`` files in ``$SHIPYARD_HOME/environments/catalogue`` (or through the
API, which writes JSON there). A reference is ``name:version``, ``name`` (its newest version),
or one of an entry's aliases (Fiddler image URIs such as
``md-base/python/machine-learning:1.1.0``).
"""

from __future__ import annotations

import json
import logging
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from shipyard.errors import AlreadyExists, InvalidSpec
from shipyard.spec.environment import BaseEnvironment

log = logging.getLogger("shipyard.environments")

DEFAULT_BASE = "shipyard/python"  # the base of a model that has requirements but names no base
REQUIREMENTS_FILE = "requirements.txt"  # at the root of a model version's files


def _sort_key(env: BaseEnvironment) -> tuple[int, Version | str]:
    try:
        return (1, Version(env.version))
    except InvalidVersion:
        return (0, env.version)


class Catalogue:
    """Base environments by reference; immutable once loaded (``add`` returns a new one)."""

    def __init__(self, entries: list[BaseEnvironment], admin_dir: Path | None = None) -> None:
        self._entries = sorted(entries, key=lambda e: (e.name, _sort_key(e)))
        self._admin_dir = admin_dir

    @classmethod
    def load(cls, admin_dir: Path | None = None) -> Catalogue:
        """Built-in entries, then every readable file of ``admin_dir`` (bad files are logged)."""
        entries: list[BaseEnvironment] = []
        for item in sorted(resources.files("shipyard.environments.builtin").iterdir(), key=str):
            if item.name.endswith(".toml"):
                data = tomllib.loads(item.read_text(encoding="utf-8"))
                entries.append(BaseEnvironment.model_validate({**data, "builtin": True}))
        if admin_dir is not None and admin_dir.is_dir():
            for path in sorted(admin_dir.iterdir()):
                entry = _read_admin_file(path)
                if entry is not None:
                    if any(e.ref == entry.ref for e in entries):
                        log.error("%s: %s is already in the catalogue; ignored", path, entry.ref)
                        continue
                    entries.append(entry)
        return cls(entries, admin_dir)

    def entries(self) -> list[BaseEnvironment]:
        return list(self._entries)

    def get(self, ref: str, *, field: str = "environment") -> BaseEnvironment:
        """The entry a reference names.

        Raises:
            InvalidSpec: Nothing in the catalogue matches; the message lists what would.
        """
        for entry in self._entries:
            if entry.ref == ref or ref in entry.aliases:
                return entry
        versions = [e for e in self._entries if e.name == ref]
        if versions:
            return versions[-1]
        known = ", ".join(e.ref for e in self._entries)
        raise InvalidSpec(
            f"{field}: unknown base environment {ref!r}; use one of {known} "
            "(see `shipyard environments list`)",
            details={"errors": [{"field": field, "value": ref, "accepted": known}]},
        )

    def check_new(self, entry: BaseEnvironment) -> None:
        """Raise unless ``entry`` can join: a new name:version, aliases naming nothing else.

        Raises:
            AlreadyExists: That name:version is taken (versions are never changed in place).
            InvalidSpec: An alias already names another environment.
        """
        if any(e.ref == entry.ref for e in self._entries):
            raise AlreadyExists(
                f"base environment {entry.ref} already exists; give the new one another version"
            )
        taken = {alias for e in self._entries for alias in [e.ref, *e.aliases]}
        clash = sorted(taken.intersection(entry.aliases))
        if clash:
            raise InvalidSpec(f"aliases: {', '.join(clash)} already name another environment")

    def add(self, entry: BaseEnvironment) -> Catalogue:
        """Store an administrator's entry in the catalogue folder; a new catalogue with it.

        Raises:
            AlreadyExists: That name:version is taken (versions are never changed in place).
        """
        self.check_new(entry)
        if self._admin_dir is None:
            raise InvalidSpec("this server has no catalogue folder to add environments to")
        self._admin_dir.mkdir(parents=True, exist_ok=True)
        path = self._admin_dir / f"{entry.name.replace('/', '__')}-{entry.version}.json"
        data = entry.model_dump(exclude={"builtin"})
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(path)
        return Catalogue([*self._entries, entry], self._admin_dir)


def _read_admin_file(path: Path) -> BaseEnvironment | None:
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            return None
        return BaseEnvironment.model_validate({**data, "builtin": False})
    except (OSError, ValueError, ValidationError) as exc:
        log.error("base environment file %s is ignored: %s", path, exc)
        return None
