"""Anthropic messages through the official SDK.

The endpoint and key come from the alias (``base_url``, ``api_key_env``) or else
``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY`` (or ``ANTHROPIC_AUTH_TOKEN``, sent as a bearer
token); rules: :mod:`labrun.worker.providers.credentials`. Both are passed to the SDK explicitly.
System messages go in the ``system`` field, the others in order in ``messages``; ``stop`` becomes
``stop_sequences``. The API has no JSON mode and no seed: those request fields are left out.
``spec.options`` may set ``send_temperature: false`` for models that reject ``temperature``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labrun.shared.core.providers import WIRING
from labrun.worker.providers import register
from labrun.worker.providers.base import ChatRequest
from labrun.worker.providers.http_provider import SdkHttpProvider

if TYPE_CHECKING:
    import anthropic

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
class AnthropicProvider(SdkHttpProvider):
    sdk_package = WIRING["anthropic"].sdk_package or ""
    sdk_client = "Anthropic"
    default_key_envs = WIRING["anthropic"].default_key_envs
    default_base_url_env = WIRING["anthropic"].default_base_url_env or ""
    official_base_url = WIRING["anthropic"].official_base_url or ""
    path = "/v1/messages"
    request_id_header = "request-id"
    rate_limit_header_prefixes = ("anthropic-ratelimit-", "retry-after")

    def key_kwargs(self, key: str, key_env: str | None) -> dict[str, Any]:
        return {"auth_token": key} if key_env == "ANTHROPIC_AUTH_TOKEN" else {"api_key": key}

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": request.conversation,
        }
        if request.system:
            body["system"] = request.system
        if self.spec.options.get("send_temperature", True):
            body["temperature"] = request.temperature
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        return body

    def parse(self, data: Any) -> dict[str, Any]:
        text = "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
        usage = data.get("usage") or {}
        stop = data.get("stop_reason")
        return {
            "text": text,
            "finish_reason": STOP_REASONS.get(stop, stop),
            "prompt_tokens": int(usage.get("input_tokens") or 0),
            "completion_tokens": int(usage.get("output_tokens") or 0),
            "model": data.get("model"),
        }

    def classify(self, exc: Any) -> str:
        return classify_anthropic(exc)
