"""A fake LLM server speaking the OpenAI and Anthropic wire formats, for tests and benchmarks.

Routes: ``POST /v1/chat/completions`` (OpenAI), ``POST /v1/messages`` (Anthropic), ``GET /stats``,
``POST /stats/reset``, ``GET|POST /config`` (change any :class:`FakeServerConfig` field at runtime),
``GET /healthz``. A bare ASGI app keeps the hot path cheap. Order of checks per chat request:
``fail_mode``, rate-limit buckets (429 + ``retry-after``), injected errors, latency, answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

from labrun.shared.core.fake_model import answer, count_tokens
from labrun.shared.testing.fake_llm_server.config import FakeServerConfig, sample_latency
from labrun.shared.testing.fake_llm_server.limits import BUCKET_FIELDS, Limits
from labrun.shared.testing.fake_llm_server.stats import Stats
from labrun.shared.testing.fake_llm_server.wire import WIRES, BadRequest, Headers

__all__ = ["FakeServerConfig", "FakeLLMApp", "create_app"]

FAIL_MESSAGES = {
    "quota": {
        "openai": "You exceeded your current quota, please check your plan and billing details.",
        "anthropic": "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
    },
    "auth": {"openai": "Incorrect API key provided.", "anthropic": "invalid x-api-key"},
    "bad_request": {
        "openai": "Invalid request (fake fail_mode).",
        "anthropic": "Invalid request (fake fail_mode).",
    },
}
JSON_HEADERS: Headers = [(b"content-type", b"application/json")]


class FakeLLMApp:
    def __init__(self, config: FakeServerConfig) -> None:
        self.stats = Stats()
        self._prefix = os.urandom(4).hex()
        self._counter = 0
        self.apply(config)

    def apply(self, config: FakeServerConfig) -> None:
        old = getattr(self, "config", None)
        self.config = config
        if old is None or old.seed != config.seed:
            self.rng = random.Random(config.seed)
        limit_fields = (*BUCKET_FIELDS.values(), "burst_s")
        if old is None or any(getattr(old, f) != getattr(config, f) for f in limit_fields):
            self.limits = Limits(config, time.monotonic())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path, method = scope["path"], scope["method"]
        wire = WIRES.get(path)
        if wire is not None and method == "POST":
            await self._chat(wire, body, send)
        elif path == "/stats" and method == "GET":
            await _send(send, (200, _json(self.stats.as_dict())))
        elif path == "/stats/reset" and method == "POST":
            self.stats = self.stats.reset()
            await _send(send, (200, b'{"ok":true}'))
        elif path == "/config" and method in ("GET", "POST"):
            await self._config(body if method == "POST" else b"", send)
        elif path == "/healthz":
            await _send(send, (200, b'{"ok":true}'))
        else:
            await _send(send, (404, b'{"error":"not found"}'))

    async def _config(self, body: bytes, send: Any) -> None:
        try:
            if body:
                self.apply(self.config.updated(json.loads(body)))
        except (ValueError, TypeError) as exc:
            await _send(send, (400, _json({"error": str(exc)})))
            return
        await _send(send, (200, _json(self.config.as_dict())))

    async def _chat(self, wire: Any, body: bytes, send: Any) -> None:
        stats, cfg = self.stats, self.config
        stats.start(time.time())
        self._counter += 1
        rid = f"req_{self._prefix}{self._counter:016x}"
        headers = [(wire.request_id_header, rid.encode())]
        flavour = "openai" if wire.request_id_header == b"x-request-id" else "anthropic"
        try:
            try:
                data = json.loads(body)
                parsed = wire.parse(data if isinstance(data, dict) else {})
            except (ValueError, AttributeError) as exc:
                stats.rejected += 1
                msg = str(exc) if isinstance(exc, BadRequest) else "Invalid JSON body."
                return await _send(send, wire.error_body("bad_request", msg, rid), headers)
            if cfg.fail_mode:
                stats.rejected += 1
                msg = FAIL_MESSAGES[cfg.fail_mode][flavour]
                return await _send(send, wire.error_body(cfg.fail_mode, msg, rid), headers)
            wait, bucket = self.limits.acquire(parsed.prompt_tokens, parsed.max_tokens, time.monotonic())
            if self.limits.buckets:
                headers += wire.limit_headers(self.limits.states())
            if bucket is not None:
                stats.rate_limited += 1
                msg = f"Rate limit reached on {bucket} per min. Please try again in {wait:.3f}s."
                headers += wire.retry_headers(wait)
                return await _send(send, wire.error_body("rate_limited", msg, rid), headers)
            if cfg.error_rate and self.rng.random() < cfg.error_rate:
                stats.errors += 1
                status = self.rng.choice(cfg.error_statuses)
                msg = "Overloaded" if status in (503, 529) else "Internal server error (injected)."
                return await _send(send, wire.error_body(status, msg, rid), headers)
            delay = sample_latency(cfg, self.rng)
            if delay > 0:
                await asyncio.sleep(delay)
            text = answer(parsed.system, parsed.user)
            completion = count_tokens(text)
            truncated = completion > parsed.max_tokens
            if truncated:
                text, completion = text[: parsed.max_tokens * 4], parsed.max_tokens
                stats.truncated += 1
            self.stats.succeeded(time.time(), parsed.prompt_tokens, completion)
            await _send(send, (200, wire.ok_body(parsed, rid, text, completion, truncated)), headers)
        finally:
            self.stats.in_flight -= 1


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


async def _send(send: Any, response: tuple[int, bytes], headers: Headers | None = None) -> None:
    status, body = response
    all_headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(headers or ())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


def create_app(config: FakeServerConfig | None = None) -> FakeLLMApp:
    return FakeLLMApp(config or FakeServerConfig())
