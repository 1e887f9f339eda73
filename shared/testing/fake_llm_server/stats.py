"""Counters of the fake LLM server, served at ``GET /stats``."""

from __future__ import annotations

from typing import Any


class Stats:
    """Plain counters; only touched from the server's event loop."""

    def __init__(self, in_flight: int = 0) -> None:
        self.requests = self.ok = self.rate_limited = self.errors = self.rejected = self.truncated = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.in_flight = self.peak_in_flight = in_flight
        self.first_request_at: float | None = None
        self.last_request_at: float | None = None
        self.ok_by_second: dict[int, int] = {}

    def start(self, now: float) -> None:
        self.requests += 1
        if self.first_request_at is None:
            self.first_request_at = now
        self.last_request_at = now
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight

    def succeeded(self, now: float, prompt_tokens: int, completion_tokens: int) -> None:
        self.ok += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        second = int(now - (self.first_request_at or now))
        self.ok_by_second[second] = self.ok_by_second.get(second, 0) + 1

    def reset(self) -> Stats:
        """Fresh counters that keep the requests still in flight."""
        return Stats(in_flight=self.in_flight)

    def as_dict(self) -> dict[str, Any]:
        """``ok_per_second[i]`` counts successes in second ``i`` after ``first_request_at``."""
        last = max(self.ok_by_second, default=-1)
        return {
            "requests": self.requests,
            "ok": self.ok,
            "rate_limited": self.rate_limited,
            "errors": self.errors,
            "rejected": self.rejected,
            "truncated": self.truncated,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "first_request_at": self.first_request_at,
            "last_request_at": self.last_request_at,
            "ok_per_second": [self.ok_by_second.get(i, 0) for i in range(last + 1)],
        }
