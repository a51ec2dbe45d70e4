"""The API app factory: ``create_app(services)`` (no module-level app, no import-time work)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST

from shipyard.api import docs, errors
from shipyard.api.deps import AdminDep, authenticate
from shipyard.api.metrics import metrics_registry, render
from shipyard.api.replica_metrics import replica_metrics
from shipyard.api.routes import (
    advice,
    coldstarts,
    deployments,
    environments,
    internal,
    keys,
    models,
    predict,
    projects,
    usage,
)
from shipyard.api.routes.ui import ui_router
from shipyard.api.schemas import ERROR_RESPONSES
from shipyard.api.services import Services
from shipyard.api.uploads import UploadGuard
from shipyard.api.usage_history import UsageHistory


def create_app(
    services: Services,
    *,
    run_controller: bool = True,
    usage_history: UsageHistory | None = None,
    log_followers: usage.FollowSlots | None = None,
) -> FastAPI:
    """The control-plane app; its lifespan runs the reconciler loop when ``run_controller``.
    ``usage_history`` is what ``/deployments/{name}/usage`` reads (fed by the caller);
    ``log_followers`` bounds the log follows (the caller closes it when the server stops)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import asyncio

        task = asyncio.create_task(services.controller.run()) if run_controller else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await services.controller.shutdown(
                stop_replicas=services.settings.stop_replicas_on_exit
            )

    app = FastAPI(
        title="Shipyard",
        version="0.1.0",
        description="Model registry and deployments with explicit resource allocation. "
        "Authenticate with `Authorization: ApiKey <key>`.",
        lifespan=lifespan,
        docs_url=None,  # docs.install serves them offline
        redoc_url=None,
    )
    app.state.services = services
    app.add_middleware(
        UploadGuard,
        authenticate=lambda header: authenticate(services, header, write=True),
        limit_bytes=lambda: services.settings.max_upload_mb * 1024 * 1024,
    )
    app.state.usage = usage_history or UsageHistory()
    app.state.log_followers = log_followers or usage.FollowSlots()
    errors.install(app)
    docs.install(app)
    routers = (
        projects.router,
        keys.router,
        models.router,
        usage.router,
        advice.router,
        coldstarts.router,
        predict.router,
        deployments.router,
        environments.router,
    )
    for router in routers:
        app.include_router(router, prefix="/api/v1", responses=ERROR_RESPONSES)
    app.include_router(internal.router)
    app.include_router(ui_router())

    registry = metrics_registry(services.controller)

    @app.get("/metrics", tags=["health"], response_class=Response)
    def metrics(_: AdminDep) -> Response:
        """Prometheus metrics (administrator key, e.g. ``Authorization: Bearer <key>``)."""
        replicas = replica_metrics(services.controller.routes.snapshot(), services.internal_token)
        return Response(render(registry) + replicas, media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "reconcile_passes": services.controller.passes,
            "replica_isolation": services.replica_isolation,
        }

    return app
