"""``/healthz`` (the process is up) and ``/readyz`` (Postgres, Redis and the artifact store answer):
public, without a key, for load balancers and Kubernetes probes. Each check has a few seconds;
``/readyz`` answers 503 naming the services that did not answer, never their URLs or credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])
TIMEOUT_S = 3.0


@router.get("/healthz", summary="Liveness probe")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _postgres() -> None:
    from labrun.shared.storage.db.session import default_database

    with default_database().engine.connect() as c:
        c.execute(text("SELECT 1"))


def _redis() -> None:
    from labrun.api.quota import redis_client
    from labrun.shared.storage.broker import redis_url

    redis_client(redis_url()).ping()


def _artifacts() -> None:
    from labrun.shared.storage.artifacts import get_store

    get_store().find("readyz/probe")  # a missing object is fine; an unreachable store raises


CHECKS: dict[str, Callable[[], None]] = {"postgres": _postgres, "redis": _redis, "artifacts": _artifacts}


@router.get(
    "/readyz",
    summary="Readiness probe: Postgres, Redis and the artifact store reachable",
    responses={503: {"description": "A service did not answer; `checks` names it"}},
)
def readyz() -> JSONResponse:
    pool = ThreadPoolExecutor(max_workers=len(CHECKS))
    futures = {name: pool.submit(check) for name, check in CHECKS.items()}
    deadline, results = time.monotonic() + TIMEOUT_S, {}
    for name, future in futures.items():
        try:
            future.result(timeout=max(0.0, deadline - time.monotonic()))
            results[name] = "ok"
        except FutureTimeout:
            results[name] = f"no answer in {TIMEOUT_S:.0f} s"
        except Exception as exc:
            results[name] = f"unreachable ({type(exc).__name__})"
    pool.shutdown(wait=False)
    ready = all(v == "ok" for v in results.values())
    body = {"status": "ready" if ready else "unavailable", "checks": results}
    return JSONResponse(body, status_code=200 if ready else 503)
