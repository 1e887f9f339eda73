"""The provider interface: one abstract call plus defaulted hooks.

A provider turns a :class:`ChatRequest` into a :class:`ChatResponse` that keeps the raw HTTP body
byte for byte, or raises :class:`ProviderError` carrying a normalized ``error_type``. The SDKs'
own retries are disabled: every HTTP attempt goes through labrun's limiter and retry policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from shared.llm.catalog import ModelSpec

# Error classes; see worker/retry.py for how each one is retried.
ERROR_TYPES = (
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "quota",
    "auth",
    "bad_request",
    "content_filter",
    "truncated",
    "parse_error",
    "internal",
)

RATE_LIMIT_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after")
REQUEST_ID_HEADERS = ("x-request-id", "request-id")


@dataclass(frozen=True)
class ChatRequest:
    model: str
    system: str
    user: str
    max_tokens: int
    temperature: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChatResponse:
    text: str
    finish_reason: str | None  # normalized: "stop", "length", "content_filter", or the raw value
    prompt_tokens: int
    completion_tokens: int
    model: str | None
    request_id: str | None
    status_code: int
    body: bytes  # the provider's response body, byte for byte
    headers: dict[str, str] = field(default_factory=dict)  # request id + rate-limit headers
    latency_ms: float = 0.0


class ProviderError(Exception):
    """A failed provider call, classified. ``retry_after`` is in seconds when the server said so."""

    def __init__(
        self,
        error_type: str,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        request_id: str | None = None,
    ) -> None:
        assert error_type in ERROR_TYPES, error_type
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.headers = headers or {}
        self.body = body
        self.request_id = request_id

    def __str__(self) -> str:
        code = f" HTTP {self.status_code}" if self.status_code else ""
        return f"{self.error_type}{code}: {self.message}"


def interesting_headers(headers: Any) -> dict[str, str]:
    """Keep the request id and rate-limit headers (lower-cased names)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        n = name.lower()
        if n in REQUEST_ID_HEADERS or n.startswith(RATE_LIMIT_HEADER_PREFIXES):
            out[n] = value
    return out


class Provider(ABC):
    """Base class of all providers. Subclasses register with :func:`worker.providers.register`."""

    name: ClassVar[str]

    def __init__(self, spec: ModelSpec, *, timeout: float) -> None:
        self.spec = spec
        self.timeout = timeout

    @abstractmethod
    def complete(self, request: ChatRequest) -> ChatResponse:
        """Make exactly one HTTP attempt. Raise ProviderError on any failure."""

    def estimate_tokens(self, text: str) -> int:
        """Cheap prompt-token estimate used for limiter reservations (about 4 characters a token)."""
        return max(1, len(text) // 4 + 4)

    def limit_usage(self, request: ChatRequest, response: ChatResponse) -> tuple[int, int]:
        """(input, output) tokens the provider counts against its rate limits for a finished call.

        Default: the actual usage (Anthropic adjusts its output-token estimate to the real count).
        """
        return response.prompt_tokens, response.completion_tokens

    def key_fingerprint(self) -> str:
        """Identifies the account for ``limits.scope: key``; never the key itself."""
        return "default"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients (connection pools)."""
