"""The FastAPI application: routers, error handlers, OpenAPI at ``/docs``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.errors import install_handlers
from api.openapi import install_openapi
from api.routes import runs


def create_app() -> FastAPI:
    app = FastAPI(
        title="labrun",
        version="0.1.0",
        description="Run LLM experiments (assign-cat) over product catalogs on a Celery cluster.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_handlers(app)
    app.include_router(runs.router)

    @app.get("/healthz", tags=["health"], summary="Liveness probe")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_openapi(app)
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> Any:
    """``api.main.app`` is built on first access (``uvicorn api.main:app``)."""
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
