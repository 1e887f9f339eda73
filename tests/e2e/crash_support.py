"""Helpers of the fault tests: many rows for one run, waiting for rows, one row per datapoint."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.helpers import catalog_rows, prediction_count


def submit_rows(n: int, tag: str) -> str:
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.runs.service import submit

    base = catalog_rows("amazon-toys-200.csv")
    rows = [{**base[i % len(base)], "id": f"{tag}-{i}"} for i in range(n)]
    # cache off: these tests count provider calls, and rows repeat
    req = RunCreate(model="faults", rows=rows, prompt={"max_candidates": 20}, cache="off")
    return submit(req, source="test").run_id


def wait_rows(run_id: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while prediction_count(run_id) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} rows after {timeout}s"
        time.sleep(0.1)


def one_row_each(run_id: str, n: int) -> None:
    from labrun.shared.storage.db.models import Prediction
    from labrun.shared.storage.db.session import session_scope

    with session_scope() as s:
        rows = s.execute(
            select(func.count(), func.count(func.distinct(Prediction.datapoint_id))).where(
                Prediction.run_id == run_id
            )
        ).one()
    assert tuple(rows) == (n, n)


def point_at(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this test process at ``env`` (a private broker or database) and drop cached clients."""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    forget_clients()


def forget_clients() -> None:
    from labrun.shared.core import catalog
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.broker import client_app
    from labrun.shared.storage.db import session

    for cached in (get_settings, client_app, catalog._load):
        cached.cache_clear()
    session.reset()
