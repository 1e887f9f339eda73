"""The database handle: an engine (and its autocommit twin) plus a session factory.

Workers build one :class:`Database` per process and pass it in (worker/context.py); the API and the
CLI use :func:`default_database`, built lazily from settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from labrun.shared.core.config import Settings, get_settings


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        return normalize_url(settings.database_url)
    from labrun.shared.storage import embedded

    return embedded.resolve(settings).database_url


@dataclass
class Database:
    url: str
    pool_size: int = 10
    max_overflow: int = 10
    # Workers skip it: a task that meets a broken connection is retried, so the round trip a ping
    # costs on every checkout of the hot path buys nothing. LABRUN_DB_POOL_PRE_PING wins.
    pre_ping: bool = True
    _disposed: bool = field(default=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, pre_ping_default: bool = True) -> Database:
        pre_ping = settings.db_pool_pre_ping if settings.db_pool_pre_ping is not None else pre_ping_default
        return cls(database_url(settings), settings.db_pool_size, settings.db_max_overflow, pre_ping)

    @cached_property
    def engine(self) -> Engine:
        # Threads wait for a pooled connection (transactions are short) rather than opening one
        # per thread: 100 threads x N workers would exceed Postgres' max_connections. Without a
        # ping, a connection broken by a Postgres restart fails once with OperationalError and
        # SQLAlchemy invalidates the pool (workers retry the task).
        return create_engine(
            self.url,
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            pool_pre_ping=self.pre_ping,
            pool_timeout=120,
            connect_args={"connect_timeout": 10},
        )

    @cached_property
    def autocommit(self) -> Engine:
        """The same pool, each statement its own transaction: one round trip instead of three
        (BEGIN, statement, COMMIT/ROLLBACK) for single-statement reads and upserts."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @cached_property
    def _factory(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commit on success, roll back on error."""
        with self._factory() as s, s.begin():
            yield s

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


_default: Database | None = None


def default_database() -> Database:
    """The process's database for the API and the CLI (workers pass theirs in)."""
    global _default
    if _default is None:
        _default = Database.from_settings(get_settings())
    return _default


@contextmanager
def session_scope() -> Iterator[Session]:
    with default_database().session() as s:
        yield s


def reset() -> None:
    """Forget the default database (tests; after fork)."""
    global _default
    if _default is not None:
        _default.dispose()
    _default = None
