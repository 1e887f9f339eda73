"""Write a datapoint's outcome: the raw artifact to the store and the prediction row by upsert.

The upsert is keyed on (run_id, datapoint_id): a duplicate delivery overwrites a failed row but
never a succeeded one, so the table holds exactly one row per datapoint.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.db.models import Prediction
from shared.db.session import session_scope
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


def already_succeeded(run_id: str, datapoint_id: int) -> bool:
    with session_scope() as s:
        status = s.scalar(
            select(Prediction.status).where(
                Prediction.run_id == run_id, Prediction.datapoint_id == datapoint_id
            )
        )
    return status == "succeeded"


def upsert_prediction(row: dict[str, Any]) -> None:
    stmt = insert(Prediction).values(**row)
    update = {k: stmt.excluded[k] for k in row if k not in _PK}
    stmt = stmt.on_conflict_do_update(
        index_elements=list(_PK), set_=update, where=Prediction.status != "succeeded"
    )
    with session_scope() as s:
        s.execute(stmt)
