"""Session-wide real services and per-test settings.

Fixtures: ``pg_admin_url``, ``database_url`` (a fresh migrated database), ``redis_url`` (flushed
once per session), ``redis_conn``, ``s3_endpoint`` (moto server), ``settings_env`` (points labrun's
settings at the test services via environment variables).
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest

from tests import services


@pytest.fixture(scope="session")
def _stack():
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def pg_admin_url(_stack, tmp_path_factory):
    with services.postgres_server(_stack, tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(pg_admin_url):
    with services.fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(_stack, tmp_path_factory):
    with services.redis_server(_stack, tmp_path_factory.mktemp("redis")) as url:
        services.redis_client(url).flushdb()
        yield url


@pytest.fixture
def redis_conn(redis_url):
    client = services.redis_client(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def s3_endpoint():
    with services.moto_server() as url:
        yield url


@pytest.fixture
def settings_env(monkeypatch, database_url, redis_url, tmp_path):
    """Point labrun at the test services (database, Redis, a local artifact dir)."""
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.db import session

    monkeypatch.setenv("LABRUN_DATABASE_URL", database_url)
    monkeypatch.setenv("LABRUN_REDIS_URL", redis_url)
    monkeypatch.setenv("LABRUN_ARTIFACTS_URL", str(tmp_path / "artifacts"))
    monkeypatch.setenv("LABRUN_HOME", str(tmp_path / "home"))
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    session.reset()
    yield os.environ
    get_settings.cache_clear()
    session.reset()
