"""Why rows failed: a run's failed rows grouped by error type and message, with counts and a few
example datapoints each (``labrun errors RUN``, ``GET /runs/{id}/errors``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labrun.shared.core.errors import NotFound
from labrun.shared.storage.db.models import Datapoint, Prediction, Run

EXAMPLES = 3
MESSAGE_CHARS = 300


@dataclass(frozen=True)
class ErrorGroup:
    error_type: str
    message: str
    count: int
    examples: list[str]  # external ids of datapoints


def error_groups(session: Session, run_id: str, limit: int = 50) -> list[ErrorGroup]:
    """The most frequent (error type, message) pairs first; messages cut to 300 characters."""
    if session.get(Run, run_id) is None:
        raise NotFound(run_id)
    message = func.left(func.coalesce(Prediction.error_message, ""), MESSAGE_CHARS)
    examples = func.array_agg(Datapoint.external_id)
    q = (
        select(Prediction.error_type, message.label("m"), func.count(), examples)
        .join(Datapoint, Datapoint.id == Prediction.datapoint_id)
        .where(Prediction.run_id == run_id, Prediction.error_type.is_not(None))
        .group_by(Prediction.error_type, message)
        .order_by(func.count().desc(), Prediction.error_type)
        .limit(limit)
    )
    return [ErrorGroup(t, m, int(n), list(ids[:EXAMPLES])) for t, m, n, ids in session.execute(q)]
