"""Engine options per process type: the API and CLI ping pooled connections, workers do not."""

import pytest

from labrun.shared.core.config import Settings
from labrun.shared.storage.db.session import Database

pytestmark = pytest.mark.unit
URL = "postgresql://nobody@127.0.0.1:1/none"  # never connected


def settings(pre_ping: bool | None = None) -> Settings:
    return Settings(database_url=URL, db_pool_pre_ping=pre_ping)


def test_pre_ping_on_by_default_and_off_in_workers():
    assert Database.from_settings(settings()).engine.pool._pre_ping is True
    worker = Database.from_settings(settings(), pre_ping_default=False)  # what worker/context.py does
    assert worker.engine.pool._pre_ping is False
    assert (
        Database.from_settings(settings(True), pre_ping_default=False).engine.pool._pre_ping is True
    )  # setting wins


def test_autocommit_engine_shares_the_pool():
    db = Database.from_settings(settings())
    assert db.autocommit.pool is db.engine.pool
    assert db.autocommit.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    assert db.engine.url.drivername == "postgresql+psycopg"
