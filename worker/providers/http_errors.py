"""Helpers of the HTTP providers: retry-after parsing, SDK status errors as ProviderError, a key
fingerprint that never reveals the key, and the SDK client's HTTP response class."""

from __future__ import annotations

import hashlib
import importlib
import time
from email.utils import parsedate_to_datetime
from typing import Any

from labrun.worker.providers.base import ProviderError


def parse_retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        if ms := headers.get("retry-after-ms"):
            return max(0.0, float(ms) / 1000)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def status_error(error_type: str, exc: Any, headers: dict[str, str]) -> ProviderError:
    """A ProviderError carrying the status, raw body and request id of an SDK status error, and
    ``headers`` (its headers as the provider keeps them)."""
    response = exc.response
    try:
        body = response.content
    except Exception:  # the stream was closed before being read
        body = None
    return ProviderError(
        error_type,
        str(exc),
        status_code=response.status_code,
        retry_after=parse_retry_after(response.headers),
        headers=headers,
        body=body,
        request_id=getattr(exc, "request_id", None),
    )


def fingerprint(secret: str | None) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12] if secret else "none"


def sdk_response_class(sdk_client: Any) -> type:
    """The ``Response`` class of the HTTP library an official SDK client is built on (``httpx``,
    or ``httpx2`` in newer SDKs). ``client.post(path, cast_to=<it>, body=...)`` is the SDKs'
    documented way to get the raw response without their per-call request transformation and
    response model parsing, which labrun does not use (it keeps and parses the raw body).
    Reads the SDK client's private ``_client`` (the HTTP client of these Stainless-generated SDKs),
    hence the SDKs are pinned below their next major version in pyproject.toml;
    tests/integration/test_provider_wire.py compares the wire bytes with the typed calls."""
    for cls in type(sdk_client._client).__mro__:
        top = cls.__module__.partition(".")[0]
        if top.startswith("httpx"):
            return importlib.import_module(top).Response  # type: ignore[no-any-return]
    raise TypeError(f"unexpected HTTP client {type(sdk_client._client)!r} in {type(sdk_client)!r}")
