"""The closed set of error classes, and the classified provider failure.

Every failed datapoint ends with one of :data:`ERROR_TYPES` (worker/retry.py decides how each is
retried). Infrastructure failures (labrun's own Postgres, Redis or S3) are not among them: tasks
retry those and they never become rows.
"""

from __future__ import annotations

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
# A response whose finish reason is one of these is a failure, whatever its text parses to.
FINISH_REASON_ERRORS = {"length": "truncated", "content_filter": "content_filter"}


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
        if error_type not in ERROR_TYPES:
            raise ValueError(f"unknown error type {error_type!r}")
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
