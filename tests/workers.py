"""Real ``labrun worker`` processes for integration and end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services import redis_client

QUEUES = ("labrun.predict", "labrun.control")


def purge_queues(redis_url: str) -> None:
    """Empty the queues, and forget runs the releaser still feeds (a previous test's)."""
    r = redis_client(redis_url)
    r.delete(*QUEUES, "unacked", "unacked_index", "labrun:active", *r.keys("labrun:release:*"))
    r.close()


def cancel_leftover_runs(database_url: str) -> None:
    """Cancel the runs earlier test modules left queued or running: a new worker's sweeper would
    otherwise revive them, and their calls would count in this module's provider figures."""
    from sqlalchemy import create_engine, text

    from labrun.shared.storage.db.session import normalize_url

    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'cancelled' WHERE status IN ('queued', 'running')"))
    engine.dispose()


def ping_workers(env: dict[str, str], timeout: float = 1.0) -> int:
    from celery import Celery

    url = env["LABRUN_REDIS_URL"]
    app = Celery("probe", broker=url, backend=url)
    try:
        return len(app.control.ping(timeout=timeout) or [])
    finally:
        app.close()


@contextmanager
def worker_process(
    env: dict[str, str],
    *,
    concurrency: int = 16,
    name: str = "w1",
    log: Path | None = None,
    wait: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``python -m labrun.cli.main worker`` with ``env``; stop it on exit (SIGTERM, then SIGKILL)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
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
            "--hostname",
            f"{name}@%h",
        ],
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if wait:
            deadline = time.monotonic() + 60
            while ping_workers(env) < 1:
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited with {proc.returncode}; see {log}")
                if time.monotonic() > deadline:
                    raise TimeoutError("worker did not answer ping")
        yield proc
    finally:
        stop(proc)
        if log:
            out.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
