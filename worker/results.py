"""Write a datapoint's outcome: the raw artifact to the store and the prediction row by upsert.

The upsert is keyed on (run_id, datapoint_id): a duplicate delivery overwrites a failed row but
never a succeeded one, so the table holds exactly one row per datapoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import redis
from sqlalchemy import bindparam, literal, select, text
from sqlalchemy.dialects.postgresql import insert

from labrun.shared.core.failures import ProviderError
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs import progress
from labrun.shared.storage.artifacts import ArtifactStore, raw_key
from labrun.shared.storage.db.models import Prediction
from labrun.shared.storage.db.session import Database
from labrun.worker.raw_record import body_field

_PK = ("run_id", "datapoint_id")


def save_raw(store: ArtifactStore, run_id: str, external_id: str, record: dict[str, Any]) -> str:
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return store.put(raw_key(run_id, external_id), data)


@dataclass(frozen=True)
class Loaded:
    external_id: str
    inputs: dict[str, Any]
    expected: str | None
    prediction_status: str | None  # of an earlier delivery, if any
    run_status: str


_LOAD = text(
    """
    SELECT d.external_id, d.inputs, d.expected, p.status, r.status
    FROM datapoints d
    JOIN runs r ON r.id = :run_id
    LEFT JOIN predictions p ON p.run_id = :run_id AND p.datapoint_id = d.id
    WHERE d.id = :datapoint_id
    """
)


def load_datapoint(db: Database, run_id: str, datapoint_id: int) -> Loaded:
    """One round trip: the datapoint, any earlier prediction's status, and the run's status."""
    with db.autocommit.connect() as conn:
        row = conn.execute(_LOAD, {"run_id": run_id, "datapoint_id": datapoint_id}).one_or_none()
    if row is None:
        raise LookupError(f"datapoint {datapoint_id} of run {run_id} not found")
    return Loaded(*row)


@lru_cache(maxsize=32)
def _upsert_statement(columns: tuple[str, ...]) -> Any:
    """Built once per column set: the construct and its compiled SQL are reused for every row. It
    returns the row it replaced (status, error type, cost; NULLs for a new row), read in the same
    statement's snapshot, and nothing when it left a succeeded row alone."""
    prev = (
        select(Prediction.status, Prediction.error_type, Prediction.cost_usd)
        .where(Prediction.run_id == bindparam("prev_run"), Prediction.datapoint_id == bindparam("prev_dp"))
        .cte("prev")
    )
    stmt = insert(Prediction)
    update = {k: stmt.excluded[k] for k in columns if k not in _PK}
    upsert = stmt.on_conflict_do_update(
        index_elements=list(_PK), set_=update, where=Prediction.status != PredictionStatus.SUCCEEDED
    )
    olds = (select(prev.c.status).scalar_subquery(), select(prev.c.error_type).scalar_subquery(),
            select(prev.c.cost_usd).scalar_subquery())  # fmt: skip
    return upsert.add_cte(prev).returning(literal(1), *olds)


def upsert_prediction(db: Database, row: dict[str, Any], client: redis.Redis | None = None) -> None:
    """One statement, one round trip (autocommit: a single statement is atomic on its own); with
    ``client``, the run's progress counters move by what the row changed (shared/runs/progress.py)."""
    with db.autocommit.connect() as conn:
        params = {**row, "prev_run": row["run_id"], "prev_dp": row["datapoint_id"]}
        written = conn.execute(_upsert_statement(tuple(sorted(row))), params).first()
    if written is not None and client is not None:
        _, status, error_type, cost = written
        prev = (status, error_type, cost) if status is not None else None
        try:
            progress.record(client, row["run_id"], prev, row)
        except redis.RedisError:  # the counters are a read shortcut; the row is what counts
            pass


def insert_predictions(db: Database, rows: list[dict[str, Any]]) -> None:
    """Many rows of one column set in one transaction, with the upsert's rule (a succeeded row is
    never replaced). No progress counters: the caller seeds them from the rows."""
    if not rows:
        return
    stmt = insert(Prediction)
    upsert = stmt.on_conflict_do_update(
        index_elements=list(_PK),
        set_={k: stmt.excluded[k] for k in rows[0] if k not in _PK},
        where=Prediction.status != PredictionStatus.SUCCEEDED,
    )
    with db.engine.begin() as conn:
        conn.execute(upsert, rows)


def attempt_summary(attempt: int, err: ProviderError) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(),
        "error_type": err.error_type,
        "message": err.message[:2000],
        "status_code": err.status_code,
        "request_id": err.request_id,
        "retry_after": err.retry_after,
        "headers": err.headers,
        **body_field(err.body),
    }
