"""A labrun stack without the fake LLM server (the ``fake`` model alias answers in-process): a
fresh database, a flushed Redis db, an artifacts dir, ``labrun api`` and ``labrun worker``
processes, all stopped and cleaned up on exit. Used by bench_scale.py and bench_worker_cpu.py."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench import procs
from bench.stack import LABRUN, Options, _admin, _child_env


@dataclass
class Lab:
    tmp: Path
    env: dict[str, str]
    redis_url: str
    database: str
    api_url: str = ""
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.env["LABRUN_DATABASE_URL"]


@contextmanager
def lab(opts: Options, label: str, *, api: bool = True) -> Iterator[Lab]:
    """Database (migrated), Redis db flushed, optionally the API; add workers with :func:`add_workers`."""
    tmp = Path(tempfile.mkdtemp(prefix=f"labrun-bench-{label}-"))
    database = f"labrun_bench_{label}_{secrets.token_hex(3)}"
    _admin(opts, f'CREATE DATABASE "{database}"')
    r = redis.Redis.from_url(opts.redis_url)
    r.flushdb()
    env = _child_env(
        {
            "LABRUN_DATABASE_URL": opts.pg_admin.rsplit("/", 1)[0] + "/" + database,
            "LABRUN_REDIS_URL": opts.redis_url,
            "LABRUN_ARTIFACTS_URL": str(tmp / "artifacts"),
            "LABRUN_HOME": str(tmp / "home"),
        }
    )
    st = Lab(tmp, env, opts.redis_url, database)
    try:
        subprocess.run([LABRUN, "db", "upgrade"], env=env, check=True, capture_output=True)
        if api:
            port = procs.free_port()
            log = tmp / "api.log"
            st.api = procs.start([LABRUN, "api", "--port", str(port)], env, log)
            st.api_url = f"http://127.0.0.1:{port}"
            procs.wait_http(f"{st.api_url}/healthz", st.api, log)
        yield st
    finally:
        for proc in reversed([*st.workers, *([st.api] if st.api else [])]):
            procs.stop(proc)
        r.flushdb()
        r.close()
        if not opts.keep:
            _admin(opts, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            shutil.rmtree(tmp, ignore_errors=True)


def add_workers(
    st: Lab, n: int, concurrency: int, cmd: list[str] | None = None, cwd: Path | None = None
) -> None:
    """``n`` worker processes (``labrun worker`` unless ``cmd``, to which ``-n NAME@%h`` is added)."""
    base = cmd or [LABRUN, "worker", "--concurrency", str(concurrency), "--loglevel", "WARNING"]
    for _ in range(n):
        name = f"bench{len(st.workers) + 1}@%h"
        w = procs.start([*base, "-n", name], st.env, st.tmp / f"worker{len(st.workers) + 1}.log", cwd=cwd)
        st.workers.append(w)
    procs.wait_workers(st.redis_url, len(st.workers), st.workers)


def stop_workers(st: Lab) -> None:
    for w in st.workers:
        procs.stop(w)
    st.workers.clear()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def env_for(st: Lab, **extra: str) -> dict[str, str]:
    return {**os.environ, **st.env, **extra}
