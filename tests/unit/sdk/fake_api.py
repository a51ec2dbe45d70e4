"""An in-memory fake of the control-plane REST API (docs/contracts.md section 3) and of the
gateway's V1 predict endpoint, served through ``httpx.MockTransport``.

Deployment status is scripted: after a create/start/update, successive ``GET``s report the
states in ``fake.rollout`` one by one (the last one sticks); after a stop, STOPPING then STOPPED.
Every status carries ``fake.environments`` (component -> EnvironmentInfo JSON; empty by default).
Base environments are looked up by the server's own ``Catalogue`` over ``fake.base_environments``.
Every create/update/rollback adds to ``fake.revisions[name]`` (change texts from the server's own
``store.changes``); a rollback is validated like a PUT (so its spec lands in ``fake.posted`` too).
Shared by the SDK and CLI unit tests (loaded by path from both conftest files).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from shipyard.environments.catalogue import Catalogue
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidSpec,
    NotFound,
    ShipyardError,
    Unauthorized,
)
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.environment import BaseEnvironment
from shipyard.spec.tools import resolve
from shipyard.spec.validation import (
    IMPLEMENTED_TOOLS,
    FieldError,
    backend_errors,
    raise_for,
    spec_errors,
)
from shipyard.store.changes import spec_changes, summary

HOST = "http://shipyard.test"
GATEWAY = "http://gateway.test"
API_KEY = "sk-test"
NOW = "2025-01-01T00:00:00Z"
ENVIRONMENTS = (
    BaseEnvironment(
        name="shipyard/python",
        version="1.0.0",
        description="Bare Python",
        aliases=["md-base/python/python-39:1.1.0"],
        builtin=True,
    ),
    BaseEnvironment(
        name="shipyard/machine-learning",
        version="1.0.0",
        description="Machine learning",
        packages=["numpy==2.4.6", "pandas==3.1.1", "scikit-learn==1.9.1"],
        aliases=["md-base/python/machine-learning:1.1.0"],
        builtin=True,
    ),
)


@dataclass
class Upload:
    """One multipart upload as the fake received it."""

    metadata: dict[str, Any]
    filename: str | None
    content_type: str
    artifact: bytes

    def members(self) -> list[str]:
        with tarfile.open(fileobj=io.BytesIO(self.artifact), mode="r:gz") as tar:
            return sorted(m.name for m in tar.getmembers() if m.isfile())


def _error(exc: ShipyardError) -> httpx.Response:
    return httpx.Response(exc.status, json={"error": exc.to_dict()})


def _multipart(request: httpx.Request) -> dict[str, Any]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
    parts: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        parts[name] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return parts


def _status(state: str, revision: int, instances: int) -> dict[str, Any]:
    conditions: list[dict[str, str]] = []
    message = ""
    if state == "FAILED":
        message = "predictor replica 0 failed 3 times in a row (Error: exit code 3)"
        conditions = [
            {"type": "SCHEDULED", "status": "True", "reason": "Scheduled", "message": ""},
            {
                "type": "STARTED",
                "status": "False",
                "reason": "CrashLoopBackOff",
                "message": message,
            },
        ]
    elif state == "RUNNING":
        message = f"{instances}/{instances} predictor instances ready"
        conditions = [{"type": "READY", "status": "True", "reason": "Ready", "message": message}]
    elif state == "STARTING":
        message = f"0/{instances} predictor instances ready"
        conditions = [
            {
                "type": "READY",
                "status": "False",
                "reason": "MinimumReplicasUnavailable",
                "message": message,
            },
        ]
    ready = instances if state == "RUNNING" else 0
    replicas = [
        {
            "id": f"r{slot}",
            "component": "predictor",
            "slot": slot,
            "revision": revision,
            "phase": "READY" if state == "RUNNING" else "STARTING",
            "pid": 1000 + slot,
            "restarts": 0,
            "usage": {
                "cpu_cores": 0.25,
                "memory_mb": 120.0,
                "memory_peak_mb": 150.0,
                "requests": {"cores": 0.2, "memory": 32, "gpus": 0},
                "limits": {"cores": 2.0, "memory": 1024, "gpus": 0},
                "enforcement": "cgroup-v1",
            },
        }
        for slot in range(ready)
    ]
    return {
        "state": state,
        "message": message,
        "conditions": conditions,
        "available_instances": {"predictor": ready},
        "observed_revision": revision,
        "replicas": replicas,
    }


@dataclass
class FakeDeployment:
    spec: dict[str, Any]
    revision: int = 1
    active: bool = True
    pending: list[str] = field(default_factory=list)
    state: str = "CREATING"

    def answer(self) -> dict[str, Any]:
        name = self.spec["name"]
        instances = self.spec["predictor"]["resources"]["num_instances"]
        return {
            "name": name,
            "spec": self.spec,
            "revision": self.revision,
            "active": self.active,
            "created_at": NOW,
            "updated_at": NOW,
            "status": _status(self.state, self.revision, instances),
            "endpoints": {
                "v1": f"{GATEWAY}/v1/models/{name}:predict",
                "v2": f"{GATEWAY}/v2/models/{name}/infer",
            },
            "resolution": resolve(DeploymentSpec.model_validate(self.spec)).model_dump(mode="json"),
        }

    def advance(self) -> None:
        if self.pending:
            self.state = self.pending.pop(0) if len(self.pending) > 1 else self.pending[0]


Route = Callable[..., httpx.Response]


class FakeShipyard:
    """The fake server; ``transport`` is what the SDK is given."""

    def __init__(self) -> None:
        self.host, self.gateway, self.api_key = HOST, GATEWAY, API_KEY
        self.project_name = "default"  # the project of API_KEY
        self.models: dict[str, list[dict[str, Any]]] = {}
        self.artifacts: dict[tuple[str, int], bytes] = {}
        self.deployments: dict[str, FakeDeployment] = {}
        self.uploads: list[Upload] = []
        self.posted: list[dict[str, Any]] = []  # bodies of POST/PUT /deployments
        self.predict_bodies: list[Any] = []
        self.logs: dict[str, list[dict[str, str]]] = {}
        self.rollout: list[str] = ["RUNNING"]
        self.backends: set[str] = {t.value for t in IMPLEMENTED_TOOLS}  # tools it can "run"
        self.base_environments: list[BaseEnvironment] = list(ENVIRONMENTS)
        self.posted_environments: list[dict[str, Any]] = []  # bodies of POST /environments
        self.builds: list[dict[str, Any]] = []  # what GET /environments/builds answers
        self.environments: dict[str, dict[str, Any]] = {}  # status.environments of every answer
        self.status_extra: dict[str, Any] = {}  # more status fields of every answer
        self.admin = True  # whether API_KEY is an administrator's key
        self.revisions: dict[str, list[dict[str, Any]]] = {}  # GET .../revisions, by name
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self.handle)
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("GET", re.compile(r"/api/v1/project"), self._project),
            ("GET", re.compile(r"/api/v1/models"), self._list_models),
            ("POST", re.compile(r"/api/v1/models/(?P<name>[^/]+)/versions"), self._upload),
            ("GET", re.compile(r"/api/v1/models/(?P<name>[^/]+)/versions"), self._versions),
            (
                "GET",
                re.compile(r"/api/v1/models/(?P<name>[^/]+)/versions/(?P<v>\w+)"),
                self._version,
            ),
            (
                "GET",
                re.compile(r"/api/v1/models/(?P<name>[^/]+)/versions/(?P<v>\w+)/artifact"),
                self._artifact,
            ),
            ("POST", re.compile(r"/api/v1/deployments"), self._create),
            ("GET", re.compile(r"/api/v1/deployments"), self._list_deployments),
            ("GET", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)"), self._get),
            ("PUT", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)"), self._update),
            ("DELETE", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)"), self._delete),
            ("POST", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)/start"), self._start),
            ("POST", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)/stop"), self._stop),
            ("GET", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)/logs"), self._logs),
            ("GET", re.compile(r"/api/v1/environments"), self._list_environments),
            ("POST", re.compile(r"/api/v1/environments"), self._add_environment),
            ("GET", re.compile(r"/api/v1/environments/builds"), self._builds),
            ("GET", re.compile(r"/api/v1/environments/(?P<ref>.+)"), self._get_environment),
            ("POST", re.compile(r"/v1/models/(?P<name>[^/:]+):predict"), self._predict),
        ]
        self._routes += [
            ("GET", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)/revisions"), self._revisions),
            ("POST", re.compile(r"/api/v1/deployments/(?P<name>[^/]+)/rollback"), self._rollback),
        ]

    # -- plumbing ----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"ApiKey {self.api_key}":
            return _error(Unauthorized("invalid API key"))
        for method, pattern, route in self._routes:
            match = pattern.fullmatch(request.url.path)
            if method == request.method and match:
                try:
                    return route(request, **match.groupdict())
                except ShipyardError as exc:
                    return _error(exc)
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no route"}})

    def deployment(self, name: str) -> FakeDeployment:
        if name not in self.deployments:
            raise NotFound(f"deployment {name!r} not found")
        return self.deployments[name]

    def add_version(self, name: str, files: list[str], framework: str = "python") -> dict[str, Any]:
        versions = self.models.setdefault(name, [])
        version = {
            "name": name,
            "version": len(versions) + 1,
            "framework": framework,
            "description": "",
            "metrics": {},
            "input_example": None,
            "checksum": "sha256:" + hashlib.sha256(name.encode()).hexdigest(),
            "size_bytes": 10,
            "files": files,
            "created_at": NOW,
        }
        versions.append(version)
        return version

    # -- models ------------------------------------------------------------------------------

    def _project(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "p1", "name": self.project_name, "created_at": NOW})

    def _list_models(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json=[
                {
                    "name": n,
                    "latest_version": v[-1]["version"],
                    "versions": len(v),
                    "created_at": NOW,
                }
                for n, v in self.models.items()
            ],
        )

    def _upload(self, request: httpx.Request, name: str) -> httpx.Response:
        parts = _multipart(request)
        filename, content_type, artifact = parts["artifact"]
        upload = Upload(json.loads(parts["metadata"][2]), filename, content_type, artifact)
        self.uploads.append(upload)
        version = self.add_version(name, upload.members(), upload.metadata["framework"])
        version.update(
            description=upload.metadata.get("description", ""),
            metrics=upload.metadata.get("metrics", {}),
            input_example=upload.metadata.get("input_example"),
            checksum="sha256:" + hashlib.sha256(artifact).hexdigest(),
            size_bytes=len(artifact),
        )
        self.artifacts[(name, version["version"])] = artifact
        return httpx.Response(201, json=version)

    def _versions(self, request: httpx.Request, name: str) -> httpx.Response:
        if name not in self.models:
            raise NotFound(f"model {name!r} not found")
        return httpx.Response(200, json=self.models[name])

    def _find_version(self, name: str, v: str) -> dict[str, Any]:
        versions = self.models.get(name, [])
        found = versions[-1:] if v == "latest" else [x for x in versions if str(x["version"]) == v]
        if not found:
            raise NotFound(f"model {name!r} version {v} not found")
        return found[0]

    def _version(self, request: httpx.Request, name: str, v: str) -> httpx.Response:
        return httpx.Response(200, json=self._find_version(name, v))

    def _artifact(self, request: httpx.Request, name: str, v: str) -> httpx.Response:
        version = self._find_version(name, v)
        body = self.artifacts[(name, version["version"])]
        return httpx.Response(200, content=body, headers={"content-type": "application/gzip"})

    # -- deployments -------------------------------------------------------------------------

    def _validate(self, body: dict[str, Any]) -> dict[str, Any]:
        self.posted.append(body)
        try:
            spec = DeploymentSpec.model_validate(body["spec"])
        except ValidationError as exc:
            errors = [
                FieldError(".".join(map(str, e["loc"])), None, e["msg"]) for e in exc.errors()
            ]
            raise_for(errors)
            raise
        problems = spec_errors(spec) + resolve(spec).errors  # the server's own checks
        if not body.get("dry_run", False) and spec.serving_tool.value not in self.backends:
            problems += backend_errors(spec)
        raise_for(problems)
        model = self._find_version(spec.predictor.model_name, str(spec.predictor.model_version))
        script = spec.predictor.script_file
        if script is not None and script not in model["files"]:
            raise_for([FieldError("predictor.script_file", script, "not in the model's files")])
        return spec.model_dump(mode="json")

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        spec = self._validate(body)
        if body.get("dry_run", False):
            return httpx.Response(200, json={**FakeDeployment(spec).answer(), "dry_run": True})
        if spec["name"] in self.deployments:
            raise AlreadyExists(f"deployment {spec['name']!r} already exists")
        active = body.get("start", True)
        fake = FakeDeployment(spec, active=active, pending=list(self.rollout) if active else [])
        self.deployments[spec["name"]] = fake
        self._add_revision(fake)
        return httpx.Response(201, json=self._answer(fake))

    def _list_deployments(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[self._answer(d) for d in self.deployments.values()])

    def _get(self, request: httpx.Request, name: str) -> httpx.Response:
        fake = self.deployment(name)
        fake.advance()
        return httpx.Response(200, json=self._answer(fake))

    def _update(self, request: httpx.Request, name: str) -> httpx.Response:
        fake = self.deployment(name)
        body = json.loads(request.content)
        spec = self._validate(body)
        if body.get("dry_run", False):
            return httpx.Response(200, json={**FakeDeployment(spec).answer(), "dry_run": True})
        fake.spec = spec
        fake.revision += 1
        fake.state, fake.pending = "UPDATING", list(self.rollout) if fake.active else []
        self._add_revision(fake)
        return httpx.Response(200, json=self._answer(fake))

    def _delete(self, request: httpx.Request, name: str) -> httpx.Response:
        self.deployment(name)
        del self.deployments[name]
        self.revisions.pop(name, None)
        return httpx.Response(204)

    def _start(self, request: httpx.Request, name: str) -> httpx.Response:
        fake = self.deployment(name)
        fake.active, fake.state, fake.pending = True, "STARTING", list(self.rollout)
        return httpx.Response(200, json=self._answer(fake))

    def _stop(self, request: httpx.Request, name: str) -> httpx.Response:
        fake = self.deployment(name)
        fake.active, fake.pending = False, ["STOPPING", "STOPPED"]
        return httpx.Response(200, json=self._answer(fake))

    def _logs(self, request: httpx.Request, name: str) -> httpx.Response:
        self.deployment(name)
        component = request.url.params["component"]
        tail = int(request.url.params["tail"])
        lines = [x for x in self.logs.get(name, []) if x.get("component", component) == component]
        lines = [{k: v for k, v in x.items() if k != "component"} for x in lines][-tail:]
        return httpx.Response(200, json={"component": component, "lines": lines})

    def _add_revision(self, fake: FakeDeployment, reason: str = "") -> None:
        history = self.revisions.setdefault(fake.spec["name"], [])
        spec = DeploymentSpec.model_validate(fake.spec)
        changes = (
            spec_changes(DeploymentSpec.model_validate(history[-1]["spec"]), spec)
            if history
            else []
        )
        history.append(
            {
                "revision": fake.revision,
                "author": self.project_name,
                "change": summary(changes, reason) if history else "created",
                "changes": changes,
                "created_at": NOW,
                "spec": fake.spec,
            }
        )

    def _revisions(self, request: httpx.Request, name: str) -> httpx.Response:
        self.deployment(name)
        return httpx.Response(200, json=self.revisions.get(name, []))

    def _rollback(self, request: httpx.Request, name: str) -> httpx.Response:
        fake = self.deployment(name)
        body = json.loads(request.content)
        history = self.revisions.get(name, [])
        wanted = body["revision"]
        target = next((r for r in history if r["revision"] == wanted), None)
        if target is None:
            known = f"{history[0]['revision']} to {history[-1]['revision']}" if history else "none"
            raise NotFound(
                f"deployment {name!r} has no revision {wanted}: its revisions are {known}"
            )
        if target["spec"] == fake.spec:
            raise Conflict(
                f"deployment {name!r} already has the spec of revision {wanted} (it is at "
                f"revision {fake.revision}): there is nothing to roll back"
            )
        dry_run = body.get("dry_run", False)
        spec = self._validate({"spec": target["spec"], "dry_run": dry_run})
        if dry_run:
            return httpx.Response(200, json={**FakeDeployment(spec).answer(), "dry_run": True})
        fake.spec = spec
        fake.revision += 1
        fake.state, fake.pending = "UPDATING", list(self.rollout) if fake.active else []
        self._add_revision(fake, f"rollback to revision {wanted}")
        return httpx.Response(200, json=self._answer(fake))

    def _answer(self, fake: FakeDeployment) -> dict[str, Any]:
        answer = fake.answer()
        answer["status"]["environments"] = dict(self.environments)
        answer["status"].update(self.status_extra)
        return answer

    # -- environments ------------------------------------------------------------------------

    def _require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("this needs an administrator key (the default project's first key)")

    def _list_environments(self, request: httpx.Request) -> httpx.Response:
        entries = Catalogue(self.base_environments).entries()
        return httpx.Response(200, json=[e.model_dump(mode="json") for e in entries])

    def _get_environment(self, request: httpx.Request, ref: str) -> httpx.Response:
        entry = Catalogue(self.base_environments).get(ref, field="ref")
        return httpx.Response(200, json=entry.model_dump(mode="json"))

    def _add_environment(self, request: httpx.Request) -> httpx.Response:
        self._require_admin()
        body = json.loads(request.content)
        self.posted_environments.append(body)
        try:
            entry = BaseEnvironment.model_validate(body).model_copy(update={"builtin": False})
        except ValidationError as exc:
            errors = [
                {"field": ".".join(map(str, e["loc"])), "value": e["input"], "message": e["msg"]}
                for e in exc.errors()
            ]
            text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise InvalidSpec(f"invalid request: {text}", details={"errors": errors}) from None
        Catalogue(self.base_environments).check_new(entry)  # the server's own rules
        self.base_environments.append(entry)
        return httpx.Response(201, json=entry.model_dump(mode="json"))

    def _builds(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=self.builds)

    # -- gateway -----------------------------------------------------------------------------

    def _predict(self, request: httpx.Request, name: str) -> httpx.Response:
        if request.url.host != httpx.URL(GATEWAY).host:
            return httpx.Response(404, json={"error": "not the gateway"})
        fake = self.deployments.get(name)
        if fake is None:
            return httpx.Response(404, json={"error": f"deployment {name!r} not found"})
        if fake.state != "RUNNING":
            return httpx.Response(503, json={"error": f"deployment {name!r} is {fake.state}"})
        body = json.loads(request.content)
        self.predict_bodies.append(body)
        rows = body.get("instances", body.get("inputs", []))
        return httpx.Response(200, json={"predictions": [len(r) for r in rows]})
