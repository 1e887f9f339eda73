"""Anthropic messages through the official SDK (its retries off; one HTTP attempt per call).

The SDK reads ``ANTHROPIC_API_KEY`` (or ``ANTHROPIC_AUTH_TOKEN``) and ``ANTHROPIC_BASE_URL`` itself;
``spec.options`` may set ``base_url``, and ``send_temperature: false`` for models that reject it.
This SDK version has no ``temperature`` argument, so it goes in ``extra_body``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import anthropic

from shared.llm.catalog import ModelSpec
from worker.providers import register
from worker.providers.base import ChatRequest, ChatResponse, Provider, ProviderError, interesting_headers
from worker.providers.http_errors import fingerprint, sdk_response_class, status_error

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
}
QUOTA_CODES = ("contract_spend_limit_reached", "enforced_spend_limit_reached")
QUOTA_MARKERS = ("credit balance", "billing", "spend limit", "purchase credits")


def classify_anthropic(exc: anthropic.APIStatusError) -> str:
    status = exc.status_code
    text = f"{exc.type} {exc.error_code} {exc.api_message or exc.message}".lower()
    if status == 402 or exc.error_code in QUOTA_CODES or any(m in text for m in QUOTA_MARKERS):
        return "quota"
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status in (503, 529) or exc.type == "overloaded_error":
        return "overloaded"
    if status >= 500:
        return "server_error"
    if status == 408:
        return "timeout"
    return "bad_request"


@register("anthropic")
class AnthropicProvider(Provider):
    def __init__(self, spec: ModelSpec, *, timeout: float) -> None:
        super().__init__(spec, timeout=timeout)
        self._client = anthropic.Anthropic(
            base_url=spec.options.get("base_url"),
            max_retries=0,
            timeout=anthropic.Timeout(timeout, connect=min(10.0, timeout)),
        )
        self._raw = sdk_response_class(self._client)
        self._secret = self._client.api_key or self._client.auth_token or os.environ.get("ANTHROPIC_API_KEY")

    def complete(self, request: ChatRequest) -> ChatResponse:
        if not self._secret:
            raise ProviderError("auth", "ANTHROPIC_API_KEY is not set")
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.user}],
        }
        if request.system:
            body["system"] = request.system
        if self.spec.options.get("send_temperature", True):
            body["temperature"] = request.temperature
        started = time.perf_counter()
        try:  # the SDK's raw POST: same client, auth, timeouts and errors as messages.create
            http = self._client.post("/v1/messages", cast_to=self._raw, body=body)
        except anthropic.APITimeoutError as exc:
            raise ProviderError("timeout", f"no response within {self.timeout}s") from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderError("connection", str(exc.__cause__ or exc)) from exc
        except anthropic.APIStatusError as exc:
            raise status_error(classify_anthropic(exc), exc) from exc
        return self._response(http, (time.perf_counter() - started) * 1000)

    def _response(self, http: Any, latency_ms: float) -> ChatResponse:
        body: bytes = http.content
        headers = interesting_headers(http.headers)
        request_id = http.headers.get("request-id")
        try:
            data = json.loads(body)
            text = "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
            usage = data.get("usage") or {}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProviderError(
                "server_error",
                f"unexpected response body: {exc!r}",
                status_code=http.status_code,
                headers=headers,
                body=body,
                request_id=request_id,
            ) from exc
        stop = data.get("stop_reason")
        return ChatResponse(
            text=text,
            finish_reason=STOP_REASONS.get(stop, stop),
            prompt_tokens=int(usage.get("input_tokens") or 0),
            completion_tokens=int(usage.get("output_tokens") or 0),
            model=data.get("model"),
            request_id=request_id,
            status_code=http.status_code,
            body=body,
            headers=headers,
            latency_ms=latency_ms,
        )

    def key_fingerprint(self) -> str:
        return fingerprint(self._secret)

    def close(self) -> None:
        self._client.close()
