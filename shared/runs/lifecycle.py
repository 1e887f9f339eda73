"""The run lifecycle: the statuses and every transition, in one place.

    queued ─► running ─► succeeded | partial | failed | budget_exceeded | cancelled
       └──────────────► failed | cancelled

``succeeded``: every datapoint has a valid prediction. ``partial``: some do. ``failed``: none do,
or the run could not be enqueued. ``budget_exceeded``: the run's ``max_cost_usd`` could not cover
every call, and some datapoints were skipped (``skipped_budget`` rows), whatever the others
answered. ``cancelled``: stopped by a user. Each transition is one conditional UPDATE, so a late
or duplicate caller cannot move a run backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session

from labrun.shared.core.errors import NotFound
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.storage.db.models import Prediction, Run
from labrun.shared.storage.db.session import Database, default_database


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    BUDGET_EXCEEDED = "budget_exceeded"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def has_results(self) -> bool:
        """Settled with at least one valid prediction (what ``--wait`` counts as success). Not
        ``budget_exceeded``: the run stopped short of its datapoints, whatever it answered."""
        return self in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)


FINAL = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.BUDGET_EXCEEDED, RunStatus.CANCELLED}
)
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


def start(session: Session, run_id: str) -> RunStatus | None:
    """queued -> running (locks the row). Returns the status the run had, None if there is no run."""
    run = session.get(Run, run_id, with_for_update=True)
    if run is None:
        return None
    before = RunStatus(run.status)
    if before is RunStatus.QUEUED:
        run.status, run.started_at = RunStatus.RUNNING, datetime.now(UTC)
    return before


def fail(run_id: str, reason: str, db: Database | None = None) -> bool:
    """queued|running -> failed with the reason (e.g. the run could not be enqueued).
    Returns whether the run changed."""
    stmt = (
        update(Run)
        .where(Run.id == run_id, Run.status.in_(ACTIVE))
        .values(status=RunStatus.FAILED, error=reason[:2000], finished_at=datetime.now(UTC))
        .returning(Run.id)
    )
    with (db or default_database()).session() as s:
        return s.execute(stmt).first() is not None


def cancel(run_id: str, db: Database | None = None) -> RunStatus:
    """queued|running -> cancelled; a finished run keeps its status. Workers skip the remaining
    datapoints; ``finished_at`` is set by :func:`settle` once the in-flight ones have settled."""
    with (db or default_database()).session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(run_id)
        if RunStatus(run.status).final:
            return RunStatus(run.status)
        s.execute(update(Run).where(Run.id == run_id).values(status=RunStatus.CANCELLED))
    return RunStatus.CANCELLED


def outcome(n_total: int, n_valid: int) -> RunStatus:
    """The final status of a run that ran: all valid, some valid, or none."""
    if n_total > 0 and n_valid == n_total:
        return RunStatus.SUCCEEDED
    return RunStatus.PARTIAL if n_valid > 0 else RunStatus.FAILED


def n_skipped_budget(session: Session, run_id: str) -> int:
    stmt = select(func.count()).where(
        Prediction.run_id == run_id, Prediction.status == PredictionStatus.SKIPPED_BUDGET
    )
    return int(session.scalar(stmt) or 0)


def settle(run: Run, n_valid: int, error: str | None = None, n_skipped: int | None = None) -> RunStatus:
    """running -> succeeded | partial | failed | budget_exceeded (the caller holds the row lock);
    a cancelled run stays cancelled. ``budget_exceeded`` when any row was skipped for the budget
    (``n_skipped``; None: counted in the run's session). Sets ``finished_at``."""
    if run.status != RunStatus.CANCELLED:
        if n_skipped is None:
            session = object_session(run)
            n_skipped = n_skipped_budget(session, run.id) if session is not None else 0
        run.status = RunStatus.BUDGET_EXCEEDED if n_skipped else outcome(run.n_total, n_valid)
        if n_skipped and not error:
            error = (
                f"{n_skipped} datapoints skipped: the run's budget (max_cost_usd) could not cover their calls"
            )
        if error:
            run.error = error
    run.finished_at = datetime.now(UTC)
    return RunStatus(run.status)


def is_cancelled(status: str | None) -> bool:
    return status == RunStatus.CANCELLED
