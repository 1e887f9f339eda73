"""Make the CLI's process (and its children) use the configured or the embedded services."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared import embedded
from shared.config import Settings, get_settings
from shared.db import session as db_session


def ensure_services(*, migrate: bool | None = None) -> Settings:
    """Resolve URLs (starting embedded services when unset) and export them for child processes.

    Embedded databases are migrated automatically; a configured one only when ``migrate`` is True.
    """
    settings = get_settings()
    was_embedded = settings.database_url is None
    urls = embedded.resolve(settings)
    embedded.export_env(urls)
    if settings.artifacts_url is None:
        os.environ["LABRUN_ARTIFACTS_URL"] = settings.artifacts_location()
    get_settings.cache_clear()
    db_session.reset()
    if migrate or (migrate is None and was_embedded):
        from shared.db.migrate import upgrade

        upgrade()
    return get_settings()


def is_embedded() -> bool:
    s = Settings()
    return s.database_url is None or s.redis_url is None


def workers_alive(timeout: float = 1.0) -> int:
    from shared.queue import client_app

    return len(client_app().control.ping(timeout=timeout) or [])


def start_worker(home: Path, concurrency: int = 32, *, detached: bool = True) -> subprocess.Popen[bytes]:
    """Start ``labrun worker`` as a child process logging to HOME/worker.log."""
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "worker",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=detached,
        env=os.environ.copy(),
    )
    (home / "worker.pid").write_text(str(proc.pid))
    return proc


def wait_for_worker(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not workers_alive():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no labrun worker answered within {timeout:.0f} s")
        time.sleep(0.5)


def ensure_worker(settings: Settings) -> bool:
    """Embedded mode runs its own worker: start one unless a worker already answers."""
    if workers_alive():
        return False
    start_worker(settings.home.expanduser())
    wait_for_worker()
    return True


def stop_worker(home: Path) -> bool:
    pidfile = home / "worker.pid"
    if not pidfile.exists():
        return False
    pid = int(pidfile.read_text())
    pidfile.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True
