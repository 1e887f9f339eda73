"""One scenario's stack: a fresh database, a flushed Redis db, the fake LLM server, ``labrun api``
and ``labrun worker`` processes, all on loopback, all stopped and cleaned up on exit."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
import yaml

from bench import procs
from bench.scenarios import Scenario
from labrun.shared.core.config import BUNDLED_MODELS_FILE

LABRUN = str(Path(sys.executable).parent / "labrun")
ALIAS = "gpt4o_mini"


@dataclass
class Options:
    pg_admin: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/9"
    keep: bool = False
    finalize_grace_s: float = 60.0


@dataclass
class Stack:
    scenario: Scenario
    tmp: Path
    env: dict[str, str]
    fake_url: str
    fake_pid: int = 0
    api_url: str = ""
    api_pid: int = 0
    database: str = ""
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def artifacts(self) -> Path:
        return self.tmp / "artifacts"


def write_models(path: Path, scenario: Scenario) -> None:
    data = yaml.safe_load(BUNDLED_MODELS_FILE.read_text())
    data["models"][ALIAS]["limits"] = scenario.labrun_limits()
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment without any LABRUN_/OPENAI_/ANTHROPIC_ setting (no stray limit overrides)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LABRUN_", "OPENAI_", "ANTHROPIC_"))}
    # the benchmarks' API is a single user's: no key (the per-key limits would pace them too)
    return {**base, "LABRUN_API_AUTH": "off", **extra}


def _admin(opts: Options, sql: str) -> None:
    with psycopg.connect(opts.pg_admin, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@contextmanager
def fake_server(scenario: Scenario, tmp: Path) -> Iterator[tuple[str, int]]:
    port = procs.free_port()
    log = tmp / "fake-llm.log"
    proc = procs.start(
        [LABRUN, "fake-llm", "--port", str(port), *scenario.server_args()], os.environ.copy(), log
    )
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_http(f"{url}/healthz", proc, log)
        yield url, proc.pid
    finally:
        procs.stop(proc)


@contextmanager
def stack(scenario: Scenario, opts: Options, label: str) -> Iterator[Stack]:
    """The fake server only; call :func:`start_labrun` inside to add the database, API and workers."""
    tmp = Path(tempfile.mkdtemp(prefix=f"labrun-bench-{label}-"))
    try:
        with fake_server(scenario, tmp) as (fake_url, fake_pid):
            yield Stack(scenario, tmp, {}, fake_url, fake_pid)
    finally:
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def start_labrun(st: Stack, opts: Options) -> Iterator[Stack]:
    s = st.scenario
    st.database = f"labrun_bench_rl_{s.name}_{secrets.token_hex(3)}"
    _admin(opts, f'CREATE DATABASE "{st.database}"')
    r = redis.Redis.from_url(opts.redis_url)
    r.flushdb()
    started: list[subprocess.Popen[bytes]] = []
    try:
        write_models(st.tmp / "models.yaml", s)
        st.env = _child_env(
            {
                "LABRUN_DATABASE_URL": opts.pg_admin.rsplit("/", 1)[0] + "/" + st.database,
                "LABRUN_REDIS_URL": opts.redis_url,
                "LABRUN_ARTIFACTS_URL": str(st.artifacts),
                "LABRUN_MODELS_FILE": str(st.tmp / "models.yaml"),
                "LABRUN_HOME": str(st.tmp / "home"),
                "LABRUN_FINALIZE_GRACE_S": str(opts.finalize_grace_s),
                "OPENAI_BASE_URL": f"{st.fake_url}/v1",
                "OPENAI_API_KEY": "sk-bench",
            }
        )
        subprocess.run([LABRUN, "db", "upgrade"], env=st.env, check=True, capture_output=True)
        port = procs.free_port()
        api_log = st.tmp / "api.log"
        api = procs.start([LABRUN, "api", "--port", str(port)], st.env, api_log)
        started.append(api)
        st.api_pid = api.pid
        for i in range(s.workers):
            cmd = [LABRUN, "worker", "--concurrency", str(s.concurrency), "--loglevel", "WARNING"]
            w = procs.start([*cmd, "-n", f"bench{i + 1}@%h"], st.env, st.tmp / f"worker{i + 1}.log")
            started.append(w)
            st.workers.append(w)
        st.api_url = f"http://127.0.0.1:{port}"
        procs.wait_http(f"{st.api_url}/healthz", api, api_log)
        procs.wait_workers(opts.redis_url, s.workers, st.workers)
        yield st
    finally:
        for proc in reversed(started):
            procs.stop(proc)
        r.flushdb()
        r.close()
        if not opts.keep:
            _admin(opts, f'DROP DATABASE IF EXISTS "{st.database}" WITH (FORCE)')
