"""Engine options per process type: the API and CLI ping pooled connections, workers do not."""

import pytest

from shared.config import get_settings
from shared.db import session


@pytest.fixture
def engine_factory(monkeypatch):
    monkeypatch.setenv("LABRUN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never connected
    monkeypatch.delenv("LABRUN_DB_POOL_PRE_PING", raising=False)
    monkeypatch.setattr(session, "_pre_ping_default", True)  # as in a process without worker.app
    get_settings.cache_clear()
    session.reset()

    def build(env_value: str | None = None):
        if env_value is not None:
            monkeypatch.setenv("LABRUN_DB_POOL_PRE_PING", env_value)
        get_settings.cache_clear()
        session.reset()
        return session.get_engine()

    yield build
    get_settings.cache_clear()
    session.reset()


def test_pre_ping_on_by_default_and_off_in_workers(engine_factory, monkeypatch):
    assert engine_factory().pool._pre_ping is True
    session.skip_pre_ping_by_default()  # what worker/app.py does
    assert engine_factory().pool._pre_ping is False
    assert engine_factory("true").pool._pre_ping is True  # the setting wins


def test_autocommit_engine_shares_the_pool(engine_factory):
    engine = engine_factory()
    auto = session.autocommit_engine()
    assert auto.pool is engine.pool
    assert auto.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
