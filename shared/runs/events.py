"""What labrun did to a run to keep it going, recorded on the run (``runs.events``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB

from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import Database

MAX_EVENTS = 200


def record(db: Database, run_id: str, actor: str, action: str, **details: Any) -> dict[str, Any]:
    """Append ``{at, actor, action, ...details}`` to the run's events (one statement)."""
    event = {"at": datetime.now(UTC).isoformat(), "actor": actor, "action": action, **details}
    appended = func.coalesce(Run.events, type_coerce([], JSONB)).op("||")(type_coerce([event], JSONB))
    with db.session() as s:
        s.execute(update(Run).where(Run.id == run_id, func.jsonb_array_length(Run.events) < MAX_EVENTS)
                  .values(events=appended))  # fmt: skip
    return event
