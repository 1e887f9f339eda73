"""A provider answer as stored JSON, and back: the ``response`` field of a raw record (and of a
response-cache entry) and the :class:`ChatResponse` rebuilt from it.

The body is kept byte for byte (UTF-8 text, else base64) beside the fields parsed from it
(``normalized``), so a stored answer can be recorded again without calling the provider: after a
crash (``recover.py``) or from the response cache (``cache.py``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from labrun.shared.core.calls import ChatResponse


def body_field(body: bytes | None) -> dict[str, Any]:
    """A JSON-safe form of a body that round-trips byte for byte."""
    if body is None:
        return {"body": None}
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


def body_bytes(field: dict[str, Any]) -> bytes | None:
    """The body :func:`body_field` stored, byte for byte."""
    body = field.get("body")
    if body is None:
        return None
    if field.get("body_encoding") == "base64":
        return base64.b64decode(body)
    return str(body).encode("utf-8")


def normalized(r: ChatResponse) -> dict[str, Any]:
    """What the provider's answer says, as parsed from its body."""
    return {
        "text": r.text,
        "finish_reason": r.finish_reason,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "model": r.model,
    }


def response_field(r: ChatResponse) -> dict[str, Any]:
    """The ``response`` field of a raw record or a cache entry."""
    return {
        "status_code": r.status_code,
        "request_id": r.request_id,
        "headers": r.headers,
        "latency_ms": r.latency_ms,
        **body_field(r.body),
        "normalized": normalized(r),
    }


def response_from(field: dict[str, Any] | None) -> ChatResponse | None:
    """The answer a ``response`` field holds; None without one, or when it was written by a
    version that did not keep the parsed fields."""
    r = field or {}
    n = r.get("normalized")
    if not n:
        return None
    return ChatResponse(
        text=n["text"],
        finish_reason=n["finish_reason"],
        prompt_tokens=int(n["prompt_tokens"]),
        completion_tokens=int(n["completion_tokens"]),
        model=n.get("model"),
        request_id=r.get("request_id"),
        status_code=int(r.get("status_code") or 200),
        body=body_bytes(r) or b"",
        headers=dict(r.get("headers") or {}),
        latency_ms=float(r.get("latency_ms") or 0.0),
    )


def system_fingerprint(body: bytes) -> str | None:
    """The ``system_fingerprint`` of an OpenAI-style body (the backend configuration that
    answered), when the provider gave one."""
    if b'"system_fingerprint"' not in body:  # most bodies: no parse at all
        return None
    try:
        value = json.loads(body).get("system_fingerprint")
    except (ValueError, AttributeError):
        return None
    return value[:200] if isinstance(value, str) and value else None
