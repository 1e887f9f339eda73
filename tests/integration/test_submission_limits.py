"""Per-key submission limits (runs and datapoints per hour, in Redis): over a limit the API answers
429 with Retry-After and a message naming the limit, and creates nothing; a refused or failed
submission does not count; each key has its own budget."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from sqlalchemy import func, select

from labrun.api import quota
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope
from tests.auth import api_client, new_key

pytestmark = pytest.mark.integration


def rows(n: int) -> list[dict]:
    return [{"id": f"r{i}", "title": f"Product {i}", "category": "Snacks > Bars"} for i in range(n)]


def runs() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Run)) or 0


@pytest.fixture
def limits(settings_env, redis_url, monkeypatch):
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.broker import client_app
    from tests.workers import purge_queues

    def set_limits(runs_per_hour: int, datapoints_per_hour: int) -> None:
        monkeypatch.setenv("LABRUN_KEY_RUNS_PER_HOUR", str(runs_per_hour))
        monkeypatch.setenv("LABRUN_KEY_DATAPOINTS_PER_HOUR", str(datapoints_per_hour))
        get_settings.cache_clear()

    purge_queues(redis_url)
    client_app.cache_clear()
    yield set_limits
    client_app.cache_clear()
    get_settings.cache_clear()


def test_runs_per_hour(limits):
    limits(2, 0)
    key = new_key()
    with api_client(key) as client:
        # refused after its reservation (unknown model): given back
        assert client.post("/runs", json={"rows": rows(3), "model": "gpt-9"}).status_code == 422
        for _ in range(2):
            assert client.post("/runs", json={"rows": rows(3), "model": "fake"}).status_code == 202
        before = runs()
        r = client.post("/runs", json={"rows": rows(3), "model": "fake"})
        assert r.status_code == 429, r.text
        assert (
            "limit of 2 runs per hour" in r.json()["detail"]
            and "LABRUN_KEY_RUNS_PER_HOUR" in r.json()["detail"]
        )
        assert 3500 <= int(r.headers["retry-after"]) <= 3601
        upload = client.post("/runs", files={"file": ("c.csv", b"id,title,category\n1,Soap,Home\n")})
        assert upload.status_code == 429 and runs() == before  # uploads count too; nothing created
    with api_client(new_key(key.project)) as other:  # the limit is per key, not per project
        assert other.post("/runs", json={"rows": rows(3), "model": "fake"}).status_code == 202


def test_datapoints_per_hour(limits):
    limits(0, 10)
    with api_client(new_key()) as client:
        assert client.post("/runs", json={"rows": rows(6), "model": "fake"}).status_code == 202
        r = client.post("/runs", json={"rows": rows(6), "model": "fake"})
        assert r.status_code == 429 and "limit of 10 datapoints per hour" in r.json()["detail"]
        assert int(r.headers["retry-after"]) > 3500
        # --limit counts: only the first 4 rows run
        assert client.post("/runs", json={"rows": rows(6), "limit": 4, "model": "fake"}).status_code == 202
        too_big = client.post("/runs", json={"rows": rows(11), "model": "fake"})
        assert too_big.status_code == 413 and "exceeds this key's limit of 10" in too_big.json()["detail"]


def test_the_window_slides(limits, redis_conn, monkeypatch):
    limits(1, 0)
    key = new_key()
    now = [1_000_000.0]
    monkeypatch.setattr(quota, "clock", lambda: now[0])
    quota.reserve(key.key_id, 5)
    assert refused_for(key.key_id) == 3601
    now[0] += 1800
    assert refused_for(key.key_id) == 1801
    now[0] += 1801
    quota.reserve(key.key_id, 5)  # the first submission has left the window
    assert redis_conn.zcard(f"labrun:quota:{key.key_id}") == 1


def refused_for(key_id: str) -> int:
    """Retry-After of a refused submission."""
    with pytest.raises(HTTPException) as refused:
        quota.reserve(key_id, 1)
    assert refused.value.status_code == 429
    return int(refused.value.headers["Retry-After"])
