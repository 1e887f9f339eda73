"""Fixtures and helpers for tests that drive workers against the fake LLM server over HTTP:
a model catalog of test aliases, the server, the environment, and run helpers."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from tests.helpers import catalog_rows, wait_run
from tests.workers import cancel_leftover_runs

MODELS = yaml.safe_load((Path(__file__).resolve().parents[2] / "shared/core/models.yaml").read_text())


def alias(limits: dict, **options) -> dict:
    return {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "price_per_1m": {"input": 0.15, "output": 0.6},
        "limits": {"scope": "model", **limits},
        "options": options,
    }


@pytest.fixture(scope="module")
def server():
    from labrun.shared.testing.fake_llm_server.run import FakeServerConfig, running_server

    with running_server(FakeServerConfig()) as url:
        yield url


@pytest.fixture(scope="module")
def http_env(database_url, redis_url, server, tmp_path_factory):
    cancel_leftover_runs(database_url)
    tmp = tmp_path_factory.mktemp("limits")
    models = dict(MODELS)
    models["models"] = {
        **MODELS["models"],
        # each alias has its own model id, so each has its own limiter scope
        "limited": alias({"requests_per_min": 600, "burst_seconds": 0.5}) | {"model": "m-limited"},
        "optimistic": alias({"requests_per_min": 60000}) | {"model": "m-optimistic"},
        "open": alias({}) | {"model": "m-open"},
        # the fault tests' own scope: limits learned by other tests (x-ratelimit-*) never pace them
        "faults": alias({}) | {"model": "m-faults"},
        "impatient": alias({}, timeout_s=0.3) | {"model": "m-impatient"},
    }
    (tmp / "models.yaml").write_text(yaml.safe_dump(models))
    return {
        "LABRUN_DATABASE_URL": database_url,
        "LABRUN_REDIS_URL": redis_url,
        "LABRUN_ARTIFACTS_URL": str(tmp / "artifacts"),
        "LABRUN_MODELS_FILE": str(tmp / "models.yaml"),
        "LABRUN_HOME": str(tmp / "home"),
        "LABRUN_RETRY_BASE_DELAY_S": "0.05",
        "LABRUN_RETRY_MAX_DELAY_S": "0.2",
        "LABRUN_RETRY_MAX_ATTEMPTS": "6",
        "LABRUN_FINALIZE_GRACE_S": "5",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": f"{server}/v1",
    }


@pytest.fixture
def labrun(http_env, monkeypatch):
    from labrun.shared.core import catalog
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.broker import client_app
    from labrun.shared.storage.db import session

    for k, v in http_env.items():
        monkeypatch.setenv(k, v)
    for cached in (get_settings, client_app, catalog._load):
        cached.cache_clear()
    session.reset()
    yield http_env
    for cached in (get_settings, client_app, catalog._load):
        cached.cache_clear()
    session.reset()


def configure(server: str, **config) -> None:
    defaults = {
        "rpm": None,
        "tpm": None,
        "burst_s": 2.0,
        "latency_s": 0.0,
        "error_rate": 0.0,
        "fail_mode": None,
    }
    deadline = time.monotonic() + 10
    while stats(server)["in_flight"]:  # let the previous test's abandoned calls drain
        assert time.monotonic() < deadline
        time.sleep(0.05)
    httpx.post(f"{server}/config", json={**defaults, **config}).raise_for_status()
    httpx.post(f"{server}/stats/reset").raise_for_status()


def stats(server: str) -> dict:
    return httpx.get(f"{server}/stats").json()


def run_rows(model: str, n: int):
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.runs.service import submit
    from labrun.shared.storage.db.models import Prediction
    from labrun.shared.storage.db.session import session_scope

    rows = catalog_rows("amazon-toys-200.csv", n=n)
    # cache off: these tests count provider calls, and aliases repeat within a module
    created = submit(
        RunCreate(model=model, rows=rows, prompt={"max_candidates": 20}, cache="off"), source="test"
    )
    run = wait_run(created.run_id, timeout=180)
    with session_scope() as s:
        preds = s.scalars(select(Prediction).where(Prediction.run_id == run.id)).all()
    assert len(preds) == n  # exactly one row per datapoint, whatever happened
    return run, preds
