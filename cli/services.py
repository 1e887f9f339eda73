"""Make the CLI's process (and its children) use the configured or the embedded services."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from labrun.cli import worker_env
from labrun.shared.core.config import Settings, get_settings
from labrun.shared.storage import embedded
from labrun.shared.storage.db import session as db_session


def ensure_services(*, migrate: bool | None = None) -> Settings:
    """Resolve URLs (starting embedded services when unset) and export them for child processes.

    Embedded databases are migrated automatically; a configured one only when ``migrate`` is True.
    In remote mode (``LABRUN_API_URL`` without the services' settings) the command is refused.
    """
    from labrun.cli.remote import local_only

    local_only()
    settings = get_settings()
    was_embedded = settings.database_url is None
    urls = embedded.resolve(settings)
    embedded.export_env(urls)
    if settings.artifacts_url is None:
        os.environ["LABRUN_ARTIFACTS_URL"] = settings.artifacts_location()
    get_settings.cache_clear()
    db_session.reset()
    if migrate or (migrate is None and was_embedded):
        from labrun.shared.storage.db.migrate import upgrade

        upgrade()
    return get_settings()


def is_embedded() -> bool:
    s = Settings()
    return s.database_url is None or s.redis_url is None


def workers_alive(timeout: float = 1.0) -> int:
    from labrun.shared.storage.broker import client_app

    return len(client_app().control.ping(timeout=timeout) or [])


def start_worker(home: Path, concurrency: int = 32, *, detached: bool = True) -> subprocess.Popen[bytes]:
    """Start ``labrun worker`` as a child process logging to HOME/worker.log."""
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labrun.cli.main",
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
    worker_env.write(home, worker_env.current())
    return proc


def wait_for_worker(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not workers_alive():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no labrun worker answered within {timeout:.0f} s")
        time.sleep(0.5)


def ensure_worker(settings: Settings) -> bool:
    """Embedded mode runs its own worker: start one unless a worker already answers. The worker it
    started earlier is restarted when the environment it was started with differs (endpoints,
    keys by fingerprint, models file, settings, code): it would call the old endpoint."""
    home = settings.home.expanduser()
    if workers_alive():
        old = worker_env.read(home)
        changed = worker_env.differences(old, worker_env.current()) if old is not None else []
        if not changed or not (home / "worker.pid").exists():
            return False
        print(
            f"restarting the embedded worker; changed since it started: {', '.join(changed)}", file=sys.stderr
        )
        stop_worker(home)
    start_worker(home)
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
