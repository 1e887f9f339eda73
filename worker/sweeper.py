"""The sweeper: runs that make no progress while nothing of theirs is queued or in flight.

A run can be left behind when messages are lost (a Redis restart without persistence loses the
queues, the chord's counter and the workers' unacked messages) or when a chord's finalize never
comes. One worker at a time (a Redis lock), every ``LABRUN_SWEEP_INTERVAL_S``, looks for runs that
have had no new prediction row for ``LABRUN_SWEEP_STALL_S`` and no message in the broker, and:

- re-enqueues exactly the run's missing datapoints (as a new chord; predict records an answer
  already stored instead of calling again) when rows are missing;
- sends ``labrun.finalize`` when every datapoint has its row (the chord's finalize was lost);
- re-sends ``labrun.dispatch`` for a run still queued (its dispatch message was lost);

and records what it did in ``runs.events``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from labrun.shared.runs import events
from labrun.shared.runs.lifecycle import RunStatus
from labrun.worker import release
from labrun.worker.broker_scan import runs_with_messages
from labrun.worker.context import WorkerContext

log = logging.getLogger(__name__)
LOCK = "labrun:sweeper"

_STALLED = text(
    """
    SELECT r.id, r.status, r.n_total, count(p.datapoint_id) AS n
    FROM runs r LEFT JOIN predictions p ON p.run_id = r.id
    WHERE r.status IN (:queued, :running)
    GROUP BY r.id
    HAVING now() - COALESCE(max(p.finished_at), r.started_at, r.created_at) > make_interval(secs => :stall)
    """
)


@dataclass(frozen=True)
class Stalled:
    run_id: str
    status: str
    n_total: int
    n_rows: int


@dataclass(frozen=True)
class Senders:
    """How the sweeper enqueues (by task name, through the worker's Celery app)."""

    dispatch: Callable[[str], None]
    finalize: Callable[[str], None]
    missing: Callable[[str], int]  # re-enqueues a run's missing datapoints; returns how many


def stalled_runs(ctx: WorkerContext) -> list[Stalled]:
    params = {"queued": RunStatus.QUEUED, "running": RunStatus.RUNNING, "stall": ctx.settings.sweep_stall_s}
    with ctx.db.autocommit.connect() as conn:
        return [Stalled(*row) for row in conn.execute(_STALLED, params)]


def sweep(ctx: WorkerContext, send: Senders) -> list[dict[str, object]]:
    """One pass; returns the events recorded. Takes the sweeper lock or does nothing."""
    lock_ms = int(ctx.settings.sweep_interval_s * 900)
    if not ctx.redis.set(LOCK, "1", nx=True, px=lock_ms):
        return []
    candidates = stalled_runs(ctx)
    if not candidates:
        return []
    # a run the releaser still feeds is waiting its share, not stalled
    busy = {c.run_id for c in candidates if release.is_active(ctx.redis, c.run_id)}
    busy |= runs_with_messages(ctx.redis, {c.run_id for c in candidates} - busy)
    done = []
    for c in candidates:
        if c.run_id in busy:
            continue
        reason = f"no new row for {ctx.settings.sweep_stall_s:.0f}s and no message in the broker"
        if c.status == RunStatus.QUEUED:
            send.dispatch(c.run_id)
            done.append(events.record(ctx.db, c.run_id, "sweeper", "re-sent dispatch", reason=reason))
        elif c.n_rows >= c.n_total:
            send.finalize(c.run_id)
            done.append(events.record(ctx.db, c.run_id, "sweeper", "sent finalize", reason=reason))
        else:
            n = send.missing(c.run_id)
            done.append(
                events.record(ctx.db, c.run_id, "sweeper", "re-enqueued", datapoints=n, reason=reason)
            )
        log.warning("sweeper: run %s: %s", c.run_id, done[-1]["action"])
    return done
