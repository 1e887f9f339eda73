"""Small helpers shared by tests: catalog rows, waiting for runs, counting rows and objects."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from sqlalchemy import func, select

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
from labrun.shared.runs.lifecycle import FINAL  # noqa: E402


def catalog_rows(name: str = "bigbasket-300.csv", n: int | None = None):
    from labrun.shared.usecases.assign_cat.schemas import ProductRow

    with open(EXAMPLES / name, newline="", encoding="utf-8") as f:
        rows = [ProductRow.model_validate(r).model_dump() for r in csv.DictReader(f)]
    return rows[:n] if n else rows


def wait_run(run_id: str, timeout: float = 120.0, *, settled: bool = False):
    """Wait for a final status (and, with ``settled``, for finalize to have run)."""
    from labrun.shared.storage.db.models import Run
    from labrun.shared.storage.db.session import session_scope

    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as s:
            run = s.get(Run, run_id)
            if run is not None and run.status in FINAL and (run.finished_at or not settled):
                return run
        if time.monotonic() > deadline:
            state = run.status if run else "missing"
            raise TimeoutError(f"run {run_id} is {state} after {timeout}s; {diagnose(run_id)}")
        time.sleep(0.25)


def diagnose(run_id: str) -> str:
    """What a stuck run's rows, queue, unacked messages, releaser state and chord look like."""
    import redis

    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.broker import QUEUE_PREDICT, UNACKED_KEY

    try:
        r = redis.Redis.from_url(get_settings().redis_url)
        state = {k.decode(): v.decode()[:60] for k, v in r.hgetall(f"labrun:release:{run_id}").items()}
        chord = {  # parts reported (the bitmap of shared/storage/chord_backend.py), size
            k.decode()[-12:]: (r.bitcount(k), r.get(k[:-2] + b".s"))
            for k in r.scan_iter("*.d")
            if r.type(k) == b"string"
        }
        unacked = [v for v in r.hvals(UNACKED_KEY) if run_id.encode() in v]
        return (
            f"rows={prediction_count(run_id)} queued={r.llen(QUEUE_PREDICT)} "
            f"queued(run)={sum(run_id.encode() in m for m in r.lrange(QUEUE_PREDICT, 0, -1))} "
            f"unacked(run)={len(unacked)} instances={r.smembers('labrun:instances')} "
            f"release={state} chord={chord}"
        )
    except Exception as exc:  # a diagnosis must not hide the timeout
        return f"(no diagnosis: {exc!r})"


def prediction_count(run_id: str) -> int:
    from labrun.shared.storage.db.models import Prediction
    from labrun.shared.storage.db.session import session_scope

    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Prediction).where(Prediction.run_id == run_id)) or 0


def raw_keys(run_id: str) -> list[str]:
    from labrun.shared.storage.artifacts import get_store, raw_prefix

    return list(get_store().keys(raw_prefix(run_id)))
