"""API keys on the real API, Postgres and Redis: every route but health and the docs answers 401
without a valid key, and a key of project A can neither see nor touch project B's runs and
experiments (404, exactly as for a run that does not exist)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from labrun.api.main import create_app
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.service import submit
from labrun.shared.storage import apikeys
from labrun.shared.storage.db.models import ApiKey, Run
from labrun.shared.storage.db.session import session_scope
from tests.auth import Key, api_client, new_key

pytestmark = pytest.mark.integration

ROWS = [
    {"id": "a1", "title": "Cocoa protein bar", "category": "Snacks > Bars"},
    {"id": "a2", "title": "Fluoride free toothpaste", "category": "Beauty > Oral Care"},
]
# no key needed: liveness, readiness, the docs, and the Prometheus counters (no run data)
PUBLIC = {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/metrics"}


@pytest.fixture
def app(settings_env, redis_url):
    from labrun.shared.storage.broker import client_app
    from tests.workers import purge_queues

    purge_queues(redis_url)  # submissions leave dispatch messages; no worker takes them here
    client_app.cache_clear()
    yield create_app()
    client_app.cache_clear()


def routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route, inside included routers too (FastAPI keeps them nested)."""
    found, todo = [], list(app.routes)
    while todo:
        route = todo.pop()
        if hasattr(route, "original_router"):
            todo.extend(route.original_router.routes)
        else:
            found += [(m, route.path) for m in sorted(getattr(route, "methods", None) or ()) if m != "HEAD"]
    return found


def submit_as(client: TestClient, experiment: str) -> str:
    r = client.post("/runs", json={"rows": ROWS, "model": "fake", "experiment": experiment})
    assert r.status_code == 202, r.text
    return r.json()["run_id"]


def test_every_route_but_the_public_ones_needs_a_key(app):
    anonymous = TestClient(app)
    listed = routes(app)
    assert {p for _, p in listed} >= set(anonymous.get("/openapi.json").json()["paths"])
    protected = [(m, p) for m, p in listed if p not in PUBLIC]
    assert len(protected) >= 12, protected
    forged = "lr_0123456789ab_" + "A" * 43
    for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        for method, path in protected:
            r = anonymous.request(method, re.sub(r"\{[^}]+\}", "x", path), headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer"), (method, path)
    assert (
        "invalid_token"
        in anonymous.get("/runs", headers={"Authorization": f"Bearer {forged}"}).headers["www-authenticate"]
    )
    for path in ("/healthz", "/openapi.json", "/docs"):
        assert anonymous.get(path).status_code == 200, path
    security = anonymous.get("/openapi.json").json()["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= next(iter(security.values())).items()


def test_a_revoked_key_is_refused_from_the_next_request(app):
    key = new_key()
    with TestClient(app, headers=key.headers) as client:
        assert client.get("/runs").status_code == 200
        with session_scope() as s:
            apikeys.revoke(s, key.key_id)
        r = client.get("/runs")
        assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked API key"
    wrong_secret = key.token[:-4] + ("AAAA" if not key.token.endswith("AAAA") else "BBBB")
    assert (
        TestClient(app).get("/runs", headers={"Authorization": f"Bearer {wrong_secret}"}).status_code == 401
    )


def test_a_project_sees_and_touches_only_its_own_runs(app):
    a, b = new_key(), new_key()
    with TestClient(app, headers=a.headers) as ca, TestClient(app, headers=b.headers) as cb:
        mine, theirs = submit_as(ca, "shared-name"), submit_as(cb, "shared-name")
        b_only = submit_as(cb, "b-only")
        operators = submit(RunCreate(rows=ROWS, model="fake", experiment="shared-name")).run_id
        with session_scope() as s:
            owners = dict(
                s.execute(select(Run.id, Run.project_id).where(Run.id.in_([mine, theirs, operators]))).all()
            )
        assert owners == {mine: a.project_id, theirs: b.project_id, operators: None}

        for other in (theirs, operators, "no-such-run"):
            for method, path in [
                ("GET", f"/runs/{other}"),
                ("GET", f"/runs/{other}/predictions"),
                ("GET", f"/runs/{other}/metrics"),
                ("GET", f"/runs/{other}/errors"),
                ("GET", f"/runs/{other}/segments?by=status"),
                ("GET", f"/runs/{other}/export"),
                ("POST", f"/runs/{other}/cancel"),
                ("POST", f"/runs/{other}/retry"),
                ("GET", f"/compare?a={mine}&b={other}"),
                ("GET", f"/compare/flips?a={other}&b={mine}"),
            ]:
                r = ca.request(method, path)
                assert r.status_code == 404, (method, path, r.text)
                assert r.json()["detail"] == f"run {other} not found", (method, path)  # no hint it exists
        with session_scope() as s:
            assert s.get(Run, theirs).status == "queued"  # A's cancel did nothing

        assert ca.get(f"/runs/{mine}").status_code == 200 and ca.get(f"/runs/{mine}/metrics").json() == []
        assert ca.get("/compare", params={"a": mine, "b": mine}).status_code == 200
        assert [r["id"] for r in ca.get("/runs", params={"limit": 1000}).json()] == [mine]
        assert {r["id"] for r in cb.get("/runs", params={"limit": 1000}).json()} == {theirs, b_only}

        # experiment names are per project: the same name is two experiments
        assert [e["name"] for e in ca.get("/experiments").json()] == ["shared-name"]
        assert [r["run_id"] for r in ca.get("/experiments/shared-name").json()["all_runs"]] == [mine]
        assert ca.get("/experiments/b-only").status_code == 404
        assert {e["name"] for e in cb.get("/experiments").json()} == {"shared-name", "b-only"}


def test_auth_off_is_the_single_user_api_of_before(settings_env, redis_url, monkeypatch):
    from labrun.shared.core.config import get_settings

    monkeypatch.setenv("LABRUN_API_AUTH", "off")
    get_settings.cache_clear()
    operators = submit(RunCreate(rows=ROWS, model="fake")).run_id
    keyed = new_key()
    with api_client(keyed) as client:  # a key is ignored, not refused
        assert client.get(f"/runs/{operators}").status_code == 200
    with TestClient(create_app()) as client:
        assert client.get(f"/runs/{operators}").json()["id"] == operators
        assert operators in [r["id"] for r in client.get("/runs", params={"limit": 1000}).json()]
    with TestClient(create_app(auth="required")) as client:
        assert client.get(f"/runs/{operators}").status_code == 401


def test_keys_are_random_and_stored_hashed(settings_env):
    key: Key = new_key()
    assert re.fullmatch(r"lr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key.token)
    assert new_key(key.project).token != key.token
    with session_scope() as s:
        rows = s.execute(select(ApiKey.hash).where(ApiKey.id == key.key_id)).scalars().all()
    secret = key.token.split("_", 2)[2]
    assert rows == [apikeys.hash_secret(secret)] and secret not in rows[0]
