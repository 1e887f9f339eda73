"""The FastAPI application: routers, error handlers, OpenAPI at ``/docs``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, FastAPI

from labrun.api import telemetry
from labrun.api.deps import current_project
from labrun.api.errors import install_handlers
from labrun.api.limits import BodyLimit
from labrun.api.openapi import install_openapi
from labrun.api.routes import analysis, compare, experiments, health, run_errors, runs
from labrun.api.telemetry import RequestMetrics
from labrun.shared.core.config import get_settings

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, or an invalid or revoked one (`Authorization: Bearer <key>`)"}
}


def create_app(auth: Literal["required", "off"] | None = None) -> FastAPI:
    """The app; ``auth`` overrides ``LABRUN_API_AUTH`` (``required``: every route but health,
    readiness and the docs needs a project's key; ``off``: a single user's local API)."""
    app = FastAPI(
        title="labrun",
        version="0.1.0",
        description="Run LLM experiments (assign-cat, classify, ...) over large datasets on a Celery cluster.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_handlers(app)
    settings = get_settings()
    app.add_middleware(BodyLimit, json_mb=settings.api_max_json_mb, upload_mb=settings.api_max_upload_mb)
    app.state.auth_required = (auth or settings.api_auth) == "required"
    app.include_router(health.router)  # public, like /docs and /openapi.json
    app.include_router(telemetry.router)  # public: /metrics (counts only)
    app.add_middleware(RequestMetrics)
    key = [Depends(current_project)]  # one dependency for every other route (api/deps.py)
    for router in (runs.router, compare.router, analysis.router, experiments.router, run_errors.router):
        app.include_router(router, dependencies=key, responses=UNAUTHORIZED)
    install_openapi(app)
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """``labrun.api.main.app`` is built on first access (``uvicorn labrun.api.main:app``)."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
