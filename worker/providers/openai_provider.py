"""OpenAI chat completions (and OpenAI-compatible servers: vLLM, Ollama...) through the official SDK.

The endpoint and key come from the alias (``base_url``, ``api_key_env``) or else ``OPENAI_BASE_URL``
and ``OPENAI_API_KEY`` (rules: :mod:`labrun.worker.providers.credentials`), and are passed to the
SDK explicitly. ``spec.options`` may set ``max_tokens_param`` (``"max_tokens"`` by default,
``"max_completion_tokens"`` for reasoning models). The whole message list is sent in order, with
``response_format`` ``json_object`` in JSON mode, ``stop`` and ``seed`` when set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labrun.shared.core.providers import WIRING
from labrun.worker.providers import register
from labrun.worker.providers.base import ChatRequest, ChatResponse
from labrun.worker.providers.http_provider import SdkHttpProvider

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
class OpenAIProvider(SdkHttpProvider):
    sdk_package = WIRING["openai"].sdk_package or ""
    sdk_client = "OpenAI"
    default_key_envs = WIRING["openai"].default_key_envs
    default_base_url_env = WIRING["openai"].default_base_url_env or ""
    official_base_url = WIRING["openai"].official_base_url or ""
    path = "/chat/completions"
    request_id_header = "x-request-id"
    rate_limit_header_prefixes = ("x-ratelimit-", "retry-after")

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
            self.spec.options.get("max_tokens_param", "max_tokens"): request.max_tokens,
        }
        if request.response_format == "json":
            body["response_format"] = {"type": "json_object"}
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    def parse(self, data: Any) -> dict[str, Any]:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        usage = data.get("usage") or {}
        finish = choice.get("finish_reason")
        if message.get("refusal") and not message.get("content"):
            finish = "content_filter"
        return {
            "text": message.get("content") or "",
            "finish_reason": FINISH_REASONS.get(finish, finish),
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
            "model": data.get("model"),
        }

    def classify(self, exc: Any) -> str:
        return classify_openai(exc)

    def isolation_headers(self) -> dict[str, Any]:
        # the default account's OPENAI_ORG_ID / OPENAI_PROJECT_ID are not sent to another endpoint/key
        return {"OpenAI-Organization": self.sdk.Omit(), "OpenAI-Project": self.sdk.Omit()}

    def limit_usage(self, request: ChatRequest, response: ChatResponse) -> tuple[int, int]:
        # OpenAI counts max_tokens, not the tokens generated, against tokens/min: refunding the
        # unused part would let the limiter run ahead of the provider and draw 429s.
        return response.prompt_tokens, max(request.max_tokens, response.completion_tokens)
