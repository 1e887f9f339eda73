import hashlib
import json
import socket
import time

import httpx
import pytest

from labrun.shared.core.catalog import load_catalog
from labrun.shared.core.fake_model import answer
from labrun.shared.testing.fake_llm_server.config import FakeServerConfig
from labrun.shared.testing.fake_llm_server.run import running_server
from labrun.worker.providers import ChatRequest, ProviderError, provider_class
from labrun.worker.providers.fake_provider import reset_fail_counters

pytestmark = pytest.mark.integration

SYSTEM = (
    "Pick one category:\n"
    "- Beauty & Hygiene > Hair Care > Shampoo & Conditioner\n"
    "- Beverages > Tea > Green Tea\n"
    "- Bakery, Cakes & Dairy > Dairy > Butter & Cream"
)
USER = "Title: Tetley Green Tea Bags\nDescription: Refreshing green tea\nBrand: Tetley"
EXPECTED = "Beverages > Tea > Green Tea"
ALIASES = ["gpt4o_mini", "haiku"]


def request(spec, user=USER, max_tokens=None):
    return ChatRequest.chat(spec.model, SYSTEM, user, max_tokens=max_tokens or spec.max_tokens)


def make(alias, timeout=5.0, **options):
    spec = load_catalog().get(alias)
    if options:
        spec = spec.model_copy(update={"options": {**spec.options, **options}})
    return provider_class(spec.provider)(spec, timeout=timeout)


def point_sdks_at(monkeypatch, base):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base)


@pytest.fixture
def fake_server(monkeypatch):
    """fake_server(**config) starts a fake LLM server and points both SDKs at it."""
    with running_server(FakeServerConfig()) as base:
        point_sdks_at(monkeypatch, base)

        def configure(**config):
            httpx.post(f"{base}/config", json=config).raise_for_status()
            return base

        yield configure


@pytest.mark.parametrize("alias", ALIASES)
def test_success_keeps_the_raw_body(fake_server, alias):
    fake_server(rpm=6000)
    provider = make(alias)
    try:
        resp = provider.complete(request(provider.spec))
    finally:
        provider.close()
    assert resp.text == EXPECTED == answer(SYSTEM, USER)
    assert resp.status_code == 200 and resp.finish_reason == "stop"
    assert resp.model == provider.spec.model
    assert resp.prompt_tokens > 10 and resp.completion_tokens > 0
    assert resp.latency_ms > 0
    data = json.loads(resp.body)
    if alias == "haiku":
        assert data["content"][0]["text"] == resp.text and data["usage"]["input_tokens"] == resp.prompt_tokens
        assert resp.headers["request-id"] == resp.request_id
        assert resp.headers["anthropic-ratelimit-requests-limit"] == "6000"
    else:
        assert data["choices"][0]["message"]["content"] == resp.text
        assert data["usage"]["prompt_tokens"] == resp.prompt_tokens
        assert resp.headers["x-request-id"] == resp.request_id
        assert resp.headers["x-ratelimit-limit-requests"] == "6000"
    assert resp.request_id.startswith("req_")
    assert "content-length" not in resp.headers  # only request id and rate-limit headers are kept


@pytest.mark.parametrize("alias", ALIASES)
def test_truncation_is_normalized_to_length(fake_server, alias):
    provider = make(alias)
    resp = provider.complete(request(provider.spec, max_tokens=2))
    assert resp.finish_reason == "length" and resp.completion_tokens == 2 and resp.text == EXPECTED[:8]


@pytest.mark.parametrize("alias", ALIASES)
def test_rate_limited_parses_retry_after(fake_server, alias):
    fake_server(rpm=60, burst_s=1.0)  # a bucket of one request, refilling in 1 s
    provider = make(alias)
    provider.complete(request(provider.spec))
    with pytest.raises(ProviderError) as info:
        provider.complete(request(provider.spec))
    err = info.value
    assert err.error_type == "rate_limited" and err.status_code == 429
    assert 0 < err.retry_after <= 1.0
    assert float(err.headers["retry-after"]) == pytest.approx(err.retry_after, abs=0.002)
    assert err.request_id and err.request_id.startswith("req_")
    body = json.loads(err.body)
    assert "rate_limit" in json.dumps(body)


@pytest.mark.parametrize("alias", ALIASES)
@pytest.mark.parametrize(
    ("config", "error_type", "status"),
    [
        ({"fail_mode": "quota"}, "quota", None),
        ({"fail_mode": "auth"}, "auth", 401),
        ({"fail_mode": "bad_request"}, "bad_request", 400),
        ({"error_rate": 1.0, "error_statuses": [500]}, "server_error", 500),
        ({"error_rate": 1.0, "error_statuses": [503]}, "overloaded", 503),
        ({"error_rate": 1.0, "error_statuses": [529]}, "overloaded", 529),
    ],
)
def test_error_classification(fake_server, alias, config, error_type, status):
    fake_server(**config)
    provider = make(alias)
    with pytest.raises(ProviderError) as info:
        provider.complete(request(provider.spec))
    err = info.value
    assert err.error_type == error_type
    if status is not None:
        assert err.status_code == status
    else:  # quota: OpenAI answers 429 insufficient_quota, Anthropic 400 "credit balance is too low"
        assert err.status_code == (400 if alias == "haiku" else 429)
    assert err.retry_after is None
    assert json.loads(err.body)["error"]["message"]  # the raw error body, both wire formats
    assert err.request_id and err.request_id.startswith("req_")


@pytest.mark.parametrize("alias", ALIASES)
def test_timeout(fake_server, alias):
    fake_server(latency_s=0.8)
    provider = make(alias, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        provider.complete(request(provider.spec))
    assert info.value.error_type == "timeout"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("alias", ALIASES)
def test_connection_refused(monkeypatch, alias):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    point_sdks_at(monkeypatch, f"http://127.0.0.1:{port}")
    provider = make(alias)
    with pytest.raises(ProviderError) as info:
        provider.complete(request(provider.spec))
    assert info.value.error_type == "connection" and info.value.status_code is None


@pytest.mark.parametrize(("alias", "env"), [("gpt4o_mini", "OPENAI_API_KEY"), ("haiku", "ANTHROPIC_API_KEY")])
def test_missing_key_is_an_auth_error_at_call_time(monkeypatch, alias, env):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    provider = make(alias)  # constructing must not fail
    with pytest.raises(ProviderError) as info:
        provider.complete(request(provider.spec))
    assert info.value.error_type == "auth" and env in info.value.message


@pytest.mark.parametrize("alias", ALIASES)
def test_key_fingerprint(monkeypatch, alias):
    point_sdks_at(monkeypatch, "http://127.0.0.1:9")
    key = "sk-test-openai" if alias == "gpt4o_mini" else "sk-ant-test"
    fp = make(alias).key_fingerprint()
    assert fp == hashlib.sha256(key.encode()).hexdigest()[:12]
    assert key not in fp


# --- FakeProvider -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_fail_counters():
    reset_fail_counters()


def test_fake_provider_is_deterministic_and_offline():
    provider = make("fake")
    first, second = provider.complete(request(provider.spec)), provider.complete(request(provider.spec))
    assert first.text == EXPECTED and first.finish_reason == "stop"
    assert first.body == second.body and first.request_id == second.request_id
    assert first.request_id.startswith("fake-")
    body = json.loads(first.body)
    assert body["choices"][0]["message"]["content"] == first.text
    assert body["usage"]["prompt_tokens"] == first.prompt_tokens > 10
    assert provider.complete(request(provider.spec, max_tokens=2)).finish_reason == "length"


def test_fake_provider_fail_rate_is_stable_per_prompt():
    users = [f"Title: product number {i}\nDescription: thing {i}" for i in range(200)]
    provider = make("fake", fail_rate=0.3, fail_with="overloaded", seed=5)

    def failing(p):
        out = set()
        for u in users:
            try:
                p.complete(request(p.spec, user=u))
            except ProviderError as exc:
                assert exc.error_type == "overloaded" and exc.status_code == 529
                out.add(u)
        return out

    failed = failing(provider)
    assert 0.2 < len(failed) / len(users) < 0.4
    assert failing(make("fake", fail_rate=0.3, fail_with="overloaded", seed=5)) == failed
    assert failing(make("fake", fail_rate=0.3, fail_with="overloaded", seed=6)) != failed


def test_fake_provider_rate_limited_with_retry_after_and_fail_attempts():
    provider = make("fake", fail_rate=1.0, fail_with="rate_limited", retry_after=2.5, fail_attempts=2)
    for _ in range(2):
        with pytest.raises(ProviderError) as info:
            provider.complete(request(provider.spec))
        assert info.value.error_type == "rate_limited" and info.value.retry_after == 2.5
        assert info.value.status_code == 429
    assert provider.complete(request(provider.spec)).text == EXPECTED  # the third attempt succeeds
    always = make("fake", fail_rate=1.0)  # fail_attempts 0: every call fails
    for _ in range(3):
        with pytest.raises(ProviderError, match="server_error"):
            always.complete(request(always.spec))


def test_fake_provider_non_raised_failures_and_latency():
    truncated = make("fake", fail_rate=1.0, fail_with="truncated").complete(
        request(load_catalog().get("fake"))
    )
    assert (
        truncated.finish_reason == "length"
        and EXPECTED.startswith(truncated.text)
        and truncated.text != EXPECTED
    )
    garbled = make("fake", fail_rate=1.0, fail_with="parse_error").complete(
        request(load_catalog().get("fake"))
    )
    assert garbled.finish_reason == "stop" and garbled.text not in SYSTEM
    slow = make("fake", latency_ms=50)
    started = time.monotonic()
    assert slow.complete(request(slow.spec)).latency_ms >= 50
    assert time.monotonic() - started >= 0.05
