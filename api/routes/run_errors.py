"""``GET /runs/{id}/errors``: why a run's rows failed, grouped by error type and message."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query

from labrun.api.deps import VisibleRun
from labrun.shared.runs.errors_report import error_groups
from labrun.shared.storage.db.session import session_scope

router = APIRouter(tags=["runs"])


@router.get("/runs/{run_id}/errors", responses={404: {"description": "Unknown run"}})
def run_errors(run_id: VisibleRun, limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Failed rows grouped by (error type, message): count and example datapoint ids."""
    with session_scope() as s:
        return [asdict(g) for g in error_groups(s, run_id, limit=limit)]
