"""Environments: the base environments of the catalogue and what a component's environment is.

A base environment is data (a name, a version and pinned packages), like a base image; a
component's environment is a base plus the model's own ``requirements.txt``, resolved to a lock
and built once into a virtualenv keyed by a hash. These are the typed objects the API shows.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
ENV_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")


class BaseEnvironment(BaseModel):
    """One entry of the catalogue: a versioned set of pinned packages on a Python interpreter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="e.g. 'shipyard/machine-learning'")
    version: str = Field(description="e.g. '1.0.0'; name:version is the reference users give")
    description: str = ""
    packages: list[str] = Field(
        default_factory=list, description="Pinned requirements (name==version) of the base."
    )
    python: str | None = Field(
        default=None,
        description="Python version to build with (e.g. '3.12'); None = the server's own.",
    )
    image: str = Field(
        default="python:3.11-slim",
        description="Container image that container backends install the locked packages on.",
    )
    aliases: list[str] = Field(
        default_factory=list,
        description="Other references accepted for this one (e.g. Fiddler image URIs).",
    )
    builtin: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ENV_NAME.match(value):
            raise ValueError(
                f"environment name {value!r} is invalid: use lowercase letters, digits, '.', '_', "
                "'-' and '/' between parts (e.g. 'team/nlp')"
            )
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not ENV_VERSION.match(value):
            raise ValueError(f"environment version {value!r} is invalid: use e.g. '1.0.0'")
        return value

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


class EnvironmentPhase(StrEnum):
    EMBEDDED = "EMBEDDED"  # no environment asked for: the server's own interpreter
    RESOLVING = "RESOLVING"  # the requirements are being resolved to a lock
    BUILDING = "BUILDING"  # the virtualenv is being built
    READY = "READY"
    FAILED = "FAILED"


class EnvironmentInfo(BaseModel):
    """What one component of a deployment runs in, as the status shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str | None = None  # name:version of the base, None when EMBEDDED
    build: str | None = None  # the build's id (GET /environments/builds/{build}/log)
    requirements: list[str] = Field(default_factory=list)  # the model's own, as written
    phase: EnvironmentPhase = EnvironmentPhase.EMBEDDED
    key: str | None = None  # hash of (base, lock, python, platform): the virtualenv's name
    message: str = ""  # progress while building, the reason when FAILED
    packages: list[str] = Field(default_factory=list)  # the locked set (name==version)
    python: str | None = None  # version of the interpreter
    reused: bool = False  # READY without a build: the environment already existed
    build_seconds: float | None = None
    image: str | None = None  # container image for backends beyond this machine


class BuildState(StrEnum):
    """Where one build of an environment is: under way, done, or failed (its log says why)."""

    BUILDING = "BUILDING"  # resolving the requirements or installing them
    READY = "READY"
    FAILED = "FAILED"


class EnvironmentBuild(BaseModel):
    """One build of a component's environment (a base plus a model's requirements), as listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The build's id: a hash of its inputs (base, requirements, ...).")
    base: str = Field(description="name:version of the base environment")
    requirements: list[str] = Field(default_factory=list, description="The model's, as written.")
    python: str | None = None
    state: BuildState = BuildState.BUILDING
    step: str = Field(default="", description="What it does now; the reason when FAILED.")
    environment: str | None = Field(
        default=None, description="Key of the virtualenv (hash of base, lock, Python, platform)."
    )
    lock_hash: str | None = Field(default=None, description="sha256 of the locked requirements.")
    packages: list[str] = Field(default_factory=list, description="The locked set (name==version).")
    reused: bool = Field(default=False, description="READY with an environment built before.")
    image: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    duration_s: float | None = None
    size_bytes: int | None = Field(default=None, description="Disk size of the virtualenv.")
    deployments: list[str] = Field(
        default_factory=list,
        description="Deployments using it (an admin sees other projects' as project/name).",
    )


class BuildLog(BaseModel):
    """The end of one build's log: the resolver's and the installer's own output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    build: str
    state: BuildState
    lines: list[str] = Field(description="The last lines, oldest first.")
    truncated: bool = Field(description="Earlier output exists that is not in ``lines``.")
    size_bytes: int = Field(description="Bytes of log kept on the server for this build.")
