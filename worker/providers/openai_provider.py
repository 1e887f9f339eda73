"""OpenAI chat completions through the official SDK (its retries off; one HTTP attempt per call).

The SDK reads ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` itself; ``spec.options`` may set
``base_url`` and ``max_tokens_param`` (``"max_tokens"`` by default, ``"max_completion_tokens"`` for
reasoning models). The SDK is imported lazily, so the Anthropic provider can share this module's
retry-after and error helpers without loading it.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

from shared.llm.catalog import ModelSpec
from worker.providers import register
from worker.providers.base import ChatRequest, ChatResponse, Provider, ProviderError, interesting_headers
from worker.providers.http_errors import fingerprint, sdk_response_class, status_error

if TYPE_CHECKING:
    import openai

FINISH_REASONS = {"stop": "stop", "length": "length", "content_filter": "content_filter"}
QUOTA_CODES = ("insufficient_quota", "billing_hard_limit_reached", "billing_not_active")
CONTENT_FILTER_MARKERS = ("content_filter", "content_policy", "content management policy", "safety system")


def classify_openai(exc: openai.APIStatusError) -> str:
    status, code, etype = exc.status_code, exc.code, exc.type
    text = f"{code} {etype} {exc.message}".lower()
    if status == 429:
        return "quota" if code in QUOTA_CODES or etype in QUOTA_CODES else "rate_limited"
    if status in (401, 403):
        return "auth"
    if status in (503, 529):
        return "overloaded"
    if status >= 500:
        return "server_error"
    if status == 408:
        return "timeout"
    if any(marker in text for marker in CONTENT_FILTER_MARKERS):
        return "content_filter"
    return "bad_request"


@register("openai")
class OpenAIProvider(Provider):
    def __init__(self, spec: ModelSpec, *, timeout: float) -> None:
        import openai

        super().__init__(spec, timeout=timeout)
        self._api_key = os.environ.get("OPENAI_API_KEY") or None
        self._client: openai.OpenAI | None = None
        if self._api_key:
            self._client = openai.OpenAI(
                api_key=self._api_key,
                base_url=spec.options.get("base_url"),
                max_retries=0,
                timeout=openai.Timeout(timeout, connect=min(10.0, timeout)),
            )
            self._raw = sdk_response_class(self._client)

    def complete(self, request: ChatRequest) -> ChatResponse:
        import openai

        if self._client is None:
            raise ProviderError("auth", "OPENAI_API_KEY is not set")
        messages: list[Any] = [{"role": "user", "content": request.user}]
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "temperature": request.temperature,
            self.spec.options.get("max_tokens_param", "max_tokens"): request.max_tokens,
        }
        started = time.perf_counter()
        try:  # the SDK's raw POST: same client, auth, timeouts and errors as chat.completions.create
            http = self._client.post("/chat/completions", cast_to=self._raw, body=body)
        except openai.APITimeoutError as exc:
            raise ProviderError("timeout", f"no response within {self.timeout}s") from exc
        except openai.APIConnectionError as exc:
            raise ProviderError("connection", str(exc.__cause__ or exc)) from exc
        except openai.APIStatusError as exc:
            raise status_error(classify_openai(exc), exc) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return self._response(http, latency_ms)

    def _response(self, http: Any, latency_ms: float) -> ChatResponse:
        body: bytes = http.content
        headers = interesting_headers(http.headers)
        request_id = http.headers.get("x-request-id")
        try:
            data = json.loads(body)
            choice = data["choices"][0]
            message = choice.get("message") or {}
            usage = data.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProviderError(
                "server_error",
                f"unexpected response body: {exc!r}",
                status_code=http.status_code,
                headers=headers,
                body=body,
                request_id=request_id,
            ) from exc
        finish = choice.get("finish_reason")
        if message.get("refusal") and not message.get("content"):
            finish = "content_filter"
        return ChatResponse(
            text=message.get("content") or "",
            finish_reason=FINISH_REASONS.get(finish, finish),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            model=data.get("model"),
            request_id=request_id,
            status_code=http.status_code,
            body=body,
            headers=headers,
            latency_ms=latency_ms,
        )

    def limit_usage(self, request: ChatRequest, response: ChatResponse) -> tuple[int, int]:
        # OpenAI counts max_tokens, not the tokens generated, against tokens/min: refunding the
        # unused part would let the limiter run ahead of the provider and draw 429s.
        return response.prompt_tokens, max(request.max_tokens, response.completion_tokens)

    def key_fingerprint(self) -> str:
        return fingerprint(self._api_key)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
