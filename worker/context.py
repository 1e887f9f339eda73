"""The worker's dependencies as one explicit object, built once per worker process.

Tasks take the process's :class:`WorkerContext` (:func:`current`) and pass it to plain functions
(predict, record, finalize), so tests build their own (fake provider, real Redis and Postgres, a
temporary store, no sleeping) and drive the predict loop in-process in milliseconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from labrun.shared.core.catalog import ModelSpec
from labrun.shared.core.config import Settings, get_settings
from labrun.shared.runs.prepared import RunPlan
from labrun.shared.storage.artifacts import ArtifactStore, open_store
from labrun.shared.storage.broker import redis_url
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import Database
from labrun.worker.providers import Provider, provider_class
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy


def redis_from_url(url: str) -> redis.Redis:
    opts = {"socket_timeout": 10, "socket_connect_timeout": 5, "health_check_interval": 30}
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url[len("redis+socket://") :], **opts)  # type: ignore[arg-type]
    return redis.Redis.from_url(url, **opts)  # type: ignore[arg-type]


def sdk_provider(spec: ModelSpec, settings: Settings) -> Provider:
    timeout = float(spec.options.get("timeout_s", settings.request_timeout_s))
    return provider_class(spec.provider)(spec, timeout=timeout)


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    redis: redis.Redis
    store: ArtifactStore
    limiter: Limiter
    retry: RetryPolicy
    make_provider: Callable[[ModelSpec, Settings], Provider] = sdk_provider
    sleep: Callable[[float], None] = time.sleep
    _providers: dict[tuple[int, str], Provider] = field(default_factory=dict, repr=False)
    _plans: dict[str, RunPlan] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # runs this process is answering from the response cache (worker/cache_share.py)
    answering: set[str] = field(default_factory=set, repr=False)

    def provider(self, spec: ModelSpec) -> Provider:
        """One provider client per (thread, model spec).

        Per thread, not per process: the SDKs' HTTP connection pool (httpcore) serializes its
        bookkeeping under one lock, and with 100 threads sharing one client most of the time went
        to waiting for that lock (measured with py-spy: about 60% of the busy samples)."""
        key = (threading.get_ident(), spec.alias)
        client = self._providers.get(key)
        if client is None or (client.spec is not spec and client.spec != spec):
            client = self.make_provider(spec, self.settings)
            with self._lock:
                self._providers[key] = client
        return client

    def plan(self, run_id: str) -> RunPlan:
        """The run as a worker sees it; run configs are immutable snapshots, so it is built once."""
        plan = self._plans.get(run_id)
        if plan is None:
            with self.db.session() as s:
                run = s.get(Run, run_id)
                if run is None:
                    raise LookupError(f"run {run_id} not found")
                plan = RunPlan.from_config(run.id, run.config)
            with self._lock:
                if len(self._plans) >= 64:
                    self._plans.clear()
                self._plans[run_id] = plan
        return plan

    def close(self) -> None:
        for client in self._providers.values():
            client.close()
        self._providers.clear()
        self.db.dispose()


def build(settings: Settings | None = None) -> WorkerContext:
    settings = settings or get_settings()
    client = redis_from_url(redis_url())
    return WorkerContext(
        settings=settings,
        db=Database.from_settings(settings, pre_ping_default=False),
        redis=client,
        store=open_store(settings.artifacts_location(), settings.s3_endpoint_url),
        limiter=Limiter(client),
        retry=RetryPolicy.from_settings(settings),
    )


_current: tuple[int, WorkerContext] | None = None
_build_lock = threading.Lock()


def current() -> WorkerContext:
    """The context of this process (rebuilt after a fork: nothing is shared across processes)."""
    global _current
    pid = os.getpid()
    if _current is None or _current[0] != pid:
        with _build_lock:
            if _current is None or _current[0] != pid:
                _current = (pid, build())
    return _current[1]


def reset() -> None:
    global _current
    _current = None
