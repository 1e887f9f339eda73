"""Child processes in their own process groups, always stopped (also on Ctrl-C or an exception)."""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

_ALIVE: list[subprocess.Popen[bytes]] = []


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass
    if proc in _ALIVE:
        _ALIVE.remove(proc)


def stop_all() -> None:
    """Stop every child still running, newest first."""
    for proc in reversed(list(_ALIVE)):
        _stop(proc)


def _on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every finally block


def install_handlers() -> None:
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
        )
    _ALIVE.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    _stop(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s; see {log}")
        time.sleep(0.2)


def wait_workers(redis_url: str, n: int, procs: list[subprocess.Popen[bytes]], timeout: float = 90.0) -> None:
    """Until ``n`` Celery workers answer a ping."""
    from celery import Celery

    app = Celery("bench-probe", broker=redis_url, backend=redis_url)
    deadline = time.monotonic() + timeout
    try:
        while len(app.control.ping(timeout=1.0) or []) < n:
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"worker exited with {dead[0].returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {n} workers answered within {timeout:.0f} s")
    finally:
        app.close()
