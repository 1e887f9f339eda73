"""Engine and session factory: built once per process, lazily, from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from shared.config import get_settings


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url() -> str:
    settings = get_settings()
    if settings.database_url:
        return normalize_url(settings.database_url)
    from shared import embedded

    return embedded.resolve(settings).database_url


_pre_ping_default = True


def skip_pre_ping_by_default() -> None:
    """For workers: a task that meets a broken connection is retried, so the round trip a ping
    costs on every checkout of the hot path buys nothing. ``LABRUN_DB_POOL_PRE_PING`` wins."""
    global _pre_ping_default
    _pre_ping_default = False
    reset()


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    settings = get_settings()
    pre_ping = settings.db_pool_pre_ping if settings.db_pool_pre_ping is not None else _pre_ping_default
    # Threads wait for a pooled connection (transactions are short) rather than opening one per
    # thread: 100 threads x N workers would exceed Postgres' max_connections.
    return create_engine(
        database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # Without a ping, a connection broken by a Postgres restart fails once with
        # OperationalError and SQLAlchemy invalidates the pool (workers retry the task).
        pool_pre_ping=pre_ping,
        pool_timeout=120,
        connect_args={"connect_timeout": 10},
    )


@lru_cache(maxsize=1)
def autocommit_engine() -> Engine:
    """The same pool, each statement its own transaction: one round trip instead of three
    (BEGIN, statement, COMMIT/ROLLBACK) for single-statement reads and upserts."""
    return get_engine().execution_options(isolation_level="AUTOCOMMIT")


@lru_cache(maxsize=1)
def _factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A transaction: commit on success, roll back on error."""
    with _factory()() as session, session.begin():
        yield session


def reset() -> None:
    """Forget cached engine (tests, after fork)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    autocommit_engine.cache_clear()
    _factory.cache_clear()
