"""The response cache's keys and layout in the artifact store.

An entry is addressed by what was asked and of whom: the provider, the endpoint the call goes to
(the alias's resolved base URL, else the SDK's default) and the exact request (model, messages,
parameters: ``ChatRequest.as_dict()``), hashed with SHA-256 over canonical JSON. Never the API
key: two keys of one account share entries, and no key can be read back from a cache key.

Entries live at ``cache/<key[:2]>/<key>.json`` in the run artifacts' store (S3 or a directory),
beside ``runs/``. The worker's policy (what is read, written, never cached) is in
``labrun.worker.cache``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

CACHE_PREFIX = "cache/"
# the run config's cache modes: what each one reads and writes
READS = frozenset({"read-write", "read"})
WRITES = frozenset({"read-write", "refresh"})


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def normalize_endpoint(endpoint: str | None) -> str | None:
    return endpoint.rstrip("/") if endpoint else endpoint


def cache_key(provider: str, endpoint: str | None, request: dict[str, Any]) -> str:
    """The entry's key: SHA-256 hex of the provider, the endpoint and the request body."""
    return sha256_hex({"provider": provider, "endpoint": normalize_endpoint(endpoint), "request": request})


def cache_object_key(key: str) -> str:
    """Where entry ``key`` is stored: ``cache/<key[:2]>/<key>.json``."""
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a cache key: {key!r}")
    return f"{CACHE_PREFIX}{key[:2]}/{key}.json"


def reads(mode: str | None) -> bool:
    return mode in READS


def writes(mode: str | None) -> bool:
    return mode in WRITES
