"""What each provider counts against its token limits after a call (used to reconcile the limiter)."""

from __future__ import annotations

import pytest

from labrun.shared.core.catalog import load_catalog
from labrun.worker.providers import ChatRequest, ChatResponse, provider_class

pytestmark = pytest.mark.unit

REQUEST = ChatRequest.chat("m", "s", "u", max_tokens=64)
RESPONSE = ChatResponse(
    text="x",
    finish_reason="stop",
    prompt_tokens=500,
    completion_tokens=7,
    model="m",
    request_id="r",
    status_code=200,
    body=b"{}",
)


def test_openai_counts_max_tokens_not_the_tokens_generated(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider = provider_class("openai")(load_catalog().get("gpt4o_mini"), timeout=5)
    assert provider.limit_usage(REQUEST, RESPONSE) == (500, 64)
    provider.close()


def test_anthropic_and_default_count_the_actual_usage(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    provider = provider_class("anthropic")(load_catalog().get("haiku"), timeout=5)
    assert provider.limit_usage(REQUEST, RESPONSE) == (500, 7)
    provider.close()
