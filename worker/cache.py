"""The response cache in the worker: what is read, what is written, what is never cached.

A run's ``config["cache"]`` mode: ``read-write`` (use a stored answer; store a new one on a miss),
``read`` (use, never store), ``refresh`` (never use; always call and overwrite), ``off``. Only
answers are stored: never a ProviderError, never a cut (``length``) or filtered answer. An answer
that does not parse is a model answer and is stored (judging it again gives the same verdict).
Keys and layout: ``labrun.shared.storage.response_cache``.

A hit is recorded as this run's answer at no cost (``cost_usd`` 0, the price it was bought at in
``cached_cost_usd``); it takes no rate-limit grant and no budget.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from labrun.shared.core.calls import ChatRequest, ChatResponse
from labrun.shared.core.catalog import ModelSpec
from labrun.shared.core.failures import FINISH_REASON_ERRORS
from labrun.shared.runs.snapshot import strip_credentials
from labrun.shared.storage.response_cache import cache_key, cache_object_key, reads, sha256_hex, writes
from labrun.shared.storage.store import ArtifactStore
from labrun.worker.providers import Provider
from labrun.worker.raw_record import response_field, response_from

log = logging.getLogger(__name__)


def endpoint_of(provider: Provider) -> str:
    """Where the provider's calls go: the resolved base URL (the alias's, else the SDK default's).
    An in-process provider (the fake) has no endpoint; its answers depend on its options."""
    base = getattr(getattr(provider, "credentials", None), "base_url", None)
    if base:
        return strip_credentials(str(base)).rstrip("/")
    options = {k: v for k, v in provider.spec.options.items() if k != "latency_ms"}
    return f"in-process:{sha256_hex(options)[:16]}"


def cacheable(r: ChatResponse) -> bool:
    return r.finish_reason not in FINISH_REASON_ERRORS and 200 <= r.status_code < 300


@dataclass(frozen=True)
class CacheHit:
    key: str
    uri: str
    response: ChatResponse
    cost_usd: float  # what the answer cost when it was paid for
    origin: dict[str, Any]  # the run and datapoint that paid for it

    def record(self) -> dict[str, Any]:
        """The raw record's ``cache`` field: this answer came from the cache, and from where."""
        return {
            "hit": True,
            "key": self.key,
            "uri": self.uri,
            "cost_usd": self.cost_usd,
            "origin": self.origin,
        }

    @classmethod
    def from_record(cls, field: dict[str, Any] | None, response: ChatResponse) -> CacheHit | None:
        if not field or not field.get("hit"):
            return None
        return cls(
            field["key"], field["uri"], response, float(field["cost_usd"]), dict(field.get("origin") or {})
        )


@dataclass(frozen=True)
class ResponseCache:
    store: ArtifactStore
    mode: str
    key: str
    endpoint: str
    spec: ModelSpec
    request: dict[str, Any]

    @classmethod
    def for_call(
        cls, store: ArtifactStore, mode: str, spec: ModelSpec, provider: Provider, request: ChatRequest
    ) -> ResponseCache | None:
        """None when the mode neither reads nor writes (no key is computed)."""
        if not (reads(mode) or writes(mode)):
            return None
        endpoint, body = endpoint_of(provider), request.as_dict()
        return cls(store, mode, cache_key(spec.provider, endpoint, body), endpoint, spec, body)

    def lookup(self) -> CacheHit | None:
        if not reads(self.mode):
            return None
        found = self.store.find(cache_object_key(self.key))
        if found is None:
            return None
        uri, data = found
        entry = json.loads(data)
        response = response_from(entry.get("response"))
        if entry.get("key") != self.key or response is None or not cacheable(response):
            return None
        cost = entry.get("cost_usd")
        if cost is None:
            cost = self.spec.cost_usd(response.prompt_tokens, response.completion_tokens)
        return CacheHit(self.key, uri, response, float(cost), dict(entry.get("origin") or {}))

    def save(self, response: ChatResponse, run_id: str, external_id: str) -> None:
        """Store a paid answer (when the mode writes and the answer may be cached). A store that
        fails here costs a future hit, never this answer: it is already recorded."""
        if not writes(self.mode) or not cacheable(response):
            return
        entry = {
            "key": self.key,
            "provider": self.spec.provider,
            "endpoint": self.endpoint,
            "request": self.request,
            "response": response_field(response),
            "cost_usd": self.spec.cost_usd(response.prompt_tokens, response.completion_tokens),
            "created_at": datetime.now(UTC).isoformat(),
            "origin": {"run_id": run_id, "datapoint_id": external_id},
        }
        data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.store.put(cache_object_key(self.key), data)
        except Exception as exc:  # noqa: BLE001 - the cache is an optimization
            log.warning("response cache: could not store %s: %s", self.key, exc)
