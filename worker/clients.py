"""Per-process clients, built once (after fork) with explicit timeouts: artifact store, Redis,
the global limiter, provider clients, run contexts."""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import redis

from shared.config import get_settings
from shared.db import session as db_session
from shared.db.models import Run
from shared.llm.catalog import ModelSpec
from shared.queue import redis_url
from shared.runs.context import RunContext
from shared.storage import ArtifactStore, get_store
from worker.providers import Provider, provider_class
from worker.ratelimit import Limiter
from worker.retry import RetryPolicy

_lock = threading.Lock()
_providers: dict[tuple[int, int, str], Provider] = {}


def redis_from_url(url: str) -> redis.Redis:
    opts = {"socket_timeout": 10, "socket_connect_timeout": 5, "health_check_interval": 30}
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url[len("redis+socket://") :], **opts)  # type: ignore[arg-type]
    return redis.Redis.from_url(url, **opts)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis_from_url(redis_url())


@lru_cache(maxsize=1)
def limiter() -> Limiter:
    return Limiter(redis_client())


@lru_cache(maxsize=1)
def retry_policy() -> RetryPolicy:
    return RetryPolicy.from_settings(get_settings())


def store() -> ArtifactStore:
    return get_store()


def provider(spec: ModelSpec) -> Provider:
    """One provider client per (process, thread, model spec).

    Per thread, not per process: the SDKs' HTTP connection pool (httpcore) serializes its
    bookkeeping under one lock, and with 100 threads sharing one client most of the time went to
    waiting for that lock (measured with py-spy: about 60% of the busy samples).
    """
    key = (os.getpid(), threading.get_ident(), spec.model_dump_json())
    client = _providers.get(key)
    if client is None:
        cls = provider_class(spec.provider)
        timeout = float(spec.options.get("timeout_s", get_settings().request_timeout_s))
        client = cls(spec, timeout=timeout)
        with _lock:
            _providers[key] = client
    return client


@lru_cache(maxsize=64)
def run_context(run_id: str) -> RunContext:
    """Run configs are immutable snapshots, so a process caches them."""
    with db_session.session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        return RunContext.from_config(run.id, run.config)


def reset() -> None:
    """Drop everything inherited from a parent process (call after fork)."""
    for cached in (redis_client, limiter, retry_policy, run_context, get_store):
        cached.cache_clear()
    with _lock:
        _providers.clear()
    db_session.reset()
