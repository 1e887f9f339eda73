"""Prometheus metrics of the API process: requests by method, route template and status, and their
duration, served at ``GET /metrics`` (public, like /healthz: counts only, no run data or secret)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("labrun_api_requests_total", "API requests", ["method", "route", "status"])
SECONDS = Histogram("labrun_api_request_seconds", "API request duration", ["method", "route"])
router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Pure ASGI middleware; the route is the template (``/runs/{run_id}``), never the raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route = _template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    """The matched route's template (the router records it in the scope as it dispatches)."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "(unmatched)")
