"""Write a datapoint's outcome: the raw artifact to the store and the prediction row by upsert.

The upsert is keyed on (run_id, datapoint_id): a duplicate delivery overwrites a failed row but
never a succeeded one, so the table holds exactly one row per datapoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from shared.db.models import Prediction
from shared.db.session import autocommit_engine
from shared.storage import ArtifactStore

_PK = ("run_id", "datapoint_id")


def raw_key(run_id: str, external_id: str) -> str:
    return f"runs/{run_id}/raw/{quote(external_id, safe='')}.json"


def body_field(body: bytes | None) -> dict[str, Any]:
    """A JSON-safe form of a body that round-trips byte for byte."""
    if body is None:
        return {"body": None}
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        import base64

        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


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


def load_datapoint(run_id: str, datapoint_id: int) -> Loaded:
    """One round trip: the datapoint, any earlier prediction's status, and the run's status."""
    with autocommit_engine().connect() as conn:
        row = conn.execute(_LOAD, {"run_id": run_id, "datapoint_id": datapoint_id}).one_or_none()
    if row is None:
        raise LookupError(f"datapoint {datapoint_id} of run {run_id} not found")
    return Loaded(*row)


@lru_cache(maxsize=32)
def _upsert_statement(columns: tuple[str, ...]) -> Any:
    """Built once per column set: the construct and its compiled SQL are reused for every row."""
    stmt = insert(Prediction)
    update = {k: stmt.excluded[k] for k in columns if k not in _PK}
    return stmt.on_conflict_do_update(
        index_elements=list(_PK), set_=update, where=Prediction.status != "succeeded"
    )


def upsert_prediction(row: dict[str, Any]) -> None:
    """One statement, one round trip (autocommit: a single statement is atomic on its own)."""
    with autocommit_engine().connect() as conn:
        conn.execute(_upsert_statement(tuple(sorted(row))), row)
