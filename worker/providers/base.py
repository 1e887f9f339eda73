"""The provider interface: one abstract call plus defaulted hooks.

A provider turns a :class:`ChatRequest` into a :class:`ChatResponse` that keeps the raw HTTP body
byte for byte, or raises :class:`ProviderError` carrying a normalized ``error_type``. The SDKs'
own retries are disabled: every HTTP attempt goes through labrun's limiter and retry policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from labrun.shared.core.calls import ChatRequest, ChatResponse
from labrun.shared.core.catalog import ModelSpec
from labrun.shared.core.failures import ERROR_TYPES, ProviderError

__all__ = ["ERROR_TYPES", "ChatRequest", "ChatResponse", "Provider", "ProviderError", "interesting_headers"]


def interesting_headers(
    headers: Any, request_id_header: str, rate_limit_prefixes: tuple[str, ...]
) -> dict[str, str]:
    """Keep a provider's request id and rate-limit headers (names lower-cased): ``request_id_header``
    and the names starting with one of ``rate_limit_prefixes`` (the provider's tables)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        n = name.lower()
        if n == request_id_header or n.startswith(rate_limit_prefixes):
            out[n] = value
    return out


class Provider(ABC):
    """Base class of all providers. Subclasses register with :func:`labrun.worker.providers.register`."""

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
