"""What a worker needs from a run's config beside its plan: the cache mode, whether it has a budget,
and the hash of its prompt templates. Read at most every ``TTL_S`` per run and process, so a budget
given later (``runs.config["max_cost_usd"]``) is seen within that; the cap itself is read from
Redis at each call (``worker/budget.py``), so a raised cap is seen at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from labrun.shared.storage.db.session import Database
from labrun.shared.storage.response_cache import sha256_hex

_QUERY = text("SELECT config->>'cache', config->'max_cost_usd', config->'prompt' FROM runs WHERE id = :id")
_MAX = 64
TTL_S = 30.0


def prompt_hash(prompt: Mapping[str, Any] | None) -> str | None:
    """SHA-256 of the run's prompt templates (system and user, before rendering): the same for
    every row of one prompt variant, whatever the datapoint, model or parameters."""
    if not isinstance(prompt, Mapping):
        return None
    return sha256_hex({"system": prompt.get("system"), "user": prompt.get("user")})


@dataclass(frozen=True)
class RunPolicy:
    cache: str  # "read-write", "read", "refresh" or "off" (runs from before the cache: off)
    budgeted: bool  # the run was created with max_cost_usd
    prompt_hash: str | None

    @classmethod
    def from_values(cls, cache: str | None, max_cost: Any, prompt: Any) -> RunPolicy:
        return cls(cache or "off", max_cost is not None, prompt_hash(prompt))


_policies: dict[str, tuple[float, RunPolicy]] = {}
_lock = threading.Lock()


def run_policy(db: Database, run_id: str) -> RunPolicy:
    cached = _policies.get(run_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    with db.autocommit.connect() as conn:
        row = conn.execute(_QUERY, {"id": run_id}).one_or_none()
    if row is None:
        raise LookupError(f"run {run_id} not found")
    policy = RunPolicy.from_values(*row)
    with _lock:
        if len(_policies) >= _MAX:
            _policies.clear()
        _policies[run_id] = (now + TTL_S, policy)
    return policy


def known_policy(run_id: str) -> RunPolicy | None:
    """The policy if this process has read it already (never a query)."""
    cached = _policies.get(run_id)
    return cached[1] if cached is not None else None
