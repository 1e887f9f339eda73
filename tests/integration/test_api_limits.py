"""Request size limits answer 413 with the limit named, while the body streams in (with or
without a Content-Length), and create nothing; too many form fields are a clear 400."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labrun.api.main import create_app
from labrun.shared.core.config import get_settings
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings_env, monkeypatch):
    monkeypatch.setenv("LABRUN_API_AUTH", "off")
    monkeypatch.setenv("LABRUN_API_MAX_JSON_MB", "0.01")  # 10 KB
    monkeypatch.setenv("LABRUN_API_MAX_UPLOAD_MB", "0.05")  # 50 KB
    get_settings.cache_clear()
    with TestClient(create_app()) as c:
        yield c
    get_settings.cache_clear()


def runs() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Run)) or 0


def big_json(kb: int) -> bytes:
    rows = [{"id": str(i), "title": "x" * 200, "category": "A > B"} for i in range(kb * 1024 // 230 + 1)]
    return json.dumps({"model": "fake", "rows": rows}).encode()


def test_a_json_body_over_the_limit_is_413_and_creates_nothing(client):
    before = runs()
    r = client.post("/runs", content=big_json(30), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert (
        r.json()["detail"] == "request body larger than the limit of 0.01 MB (set by LABRUN_API_MAX_JSON_MB)"
    )
    assert runs() == before


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(client):
    data = big_json(30)
    chunks = (data[i : i + 4096] for i in range(0, len(data), 4096))  # chunked: no Content-Length
    r = client.post("/runs", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "LABRUN_API_MAX_JSON_MB" in r.json()["detail"]


def test_an_upload_over_the_limit_is_413(client):
    csv = ("id,title,category\n" + "".join(f"{i},{'y' * 100},A > B\n" for i in range(800))).encode()
    r = client.post("/runs", files={"file": ("big.csv", csv, "text/csv")}, data={"model": "fake"})
    assert r.status_code == 413 and "LABRUN_API_MAX_UPLOAD_MB" in r.json()["detail"]


def test_too_many_form_fields_is_a_clear_400(client):
    fields = {f"f{i}": "v" for i in range(250)}
    r = client.post("/runs", files={"file": ("a.csv", b"id,title\n1,x\n", "text/csv")}, data=fields)
    assert r.status_code == 400 and "Maximum number of fields" in r.json()["detail"]


def test_a_small_body_passes(client):
    r = client.post("/runs", json={"model": "nope-model", "rows": [{"id": "1", "title": "x"}]})
    assert r.status_code == 422  # read and validated, not cut
