import asyncio
import random
import statistics
import time
from contextlib import ExitStack

import httpx
import pytest

from labrun.shared.core.fake_model import answer
from labrun.shared.testing.fake_llm_server.config import FakeServerConfig, sample_latency
from labrun.shared.testing.fake_llm_server.run import running_server

pytestmark = pytest.mark.integration

SYSTEM = (
    "Pick one category:\n"
    "- Beauty & Hygiene > Hair Care > Shampoo & Conditioner\n"
    "- Bakery, Cakes & Dairy > Dairy > Butter & Cream\n"
    "- Beverages > Tea > Green Tea"
)
USER = "Title: Amul Pasteurised Butter\nDescription: Made from fresh cream\nBrand: Amul"
EXPECTED = "Bakery, Cakes & Dairy > Dairy > Butter & Cream"


def openai_req(max_tokens=64, **extra):
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
    return {"model": "gpt-4o-mini", "messages": messages, "max_tokens": max_tokens, "temperature": 0, **extra}


def anthropic_req(max_tokens=64):
    return {
        "model": "claude-haiku-4-5",
        "system": [{"type": "text", "text": SYSTEM}],
        "messages": [{"role": "user", "content": USER}],
        "max_tokens": max_tokens,
    }


@pytest.fixture
def serve():
    """serve(**config) -> an httpx.Client whose base URL is a fresh fake server."""
    with ExitStack() as stack:

        def start(**config):
            base = stack.enter_context(running_server(FakeServerConfig(**config)))
            return stack.enter_context(httpx.Client(base_url=base, timeout=10))

        yield start


def test_openai_wire_format(serve):
    c = serve()
    r = c.post("/v1/chat/completions", json=openai_req())
    assert r.status_code == 200
    data = r.json()
    assert data["object"] == "chat.completion" and data["model"] == "gpt-4o-mini"
    assert data["id"].startswith("chatcmpl-")
    assert data["choices"][0]["message"]["content"] == EXPECTED == answer(SYSTEM, USER)
    assert data["choices"][0]["finish_reason"] == "stop"
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 10
    assert r.headers["x-request-id"].startswith("req_")
    assert "x-ratelimit-limit-requests" not in r.headers  # no limits configured


def test_anthropic_wire_format(serve):
    c = serve()
    r = c.post("/v1/messages", json=anthropic_req())
    assert r.status_code == 200
    data = r.json()
    assert data["id"].startswith("msg_") and data["type"] == "message" and data["role"] == "assistant"
    assert data["content"] == [{"type": "text", "text": EXPECTED}]
    assert data["stop_reason"] == "end_turn"
    assert data["usage"]["input_tokens"] > 10 and data["usage"]["output_tokens"] > 0
    assert r.headers["request-id"].startswith("req_")


def test_truncation_to_max_tokens(serve):
    c = serve()
    data = c.post("/v1/chat/completions", json=openai_req(max_tokens=2)).json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["choices"][0]["message"]["content"] == EXPECTED[:8]
    assert data["usage"]["completion_tokens"] == 2
    data = c.post("/v1/messages", json=anthropic_req(max_tokens=3)).json()
    assert data["stop_reason"] == "max_tokens" and data["content"][0]["text"] == EXPECTED[:12]
    assert c.get("/stats").json()["truncated"] == 2


def test_rpm_bucket_answers_429_with_retry_after(serve):
    c = serve(rpm=60, burst_s=2.0)  # 1 request/s, bucket of 2
    first = c.post("/v1/chat/completions", json=openai_req())
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "60"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert c.post("/v1/chat/completions", json=openai_req()).status_code == 200
    r = c.post("/v1/chat/completions", json=openai_req())
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    retry_after = float(r.headers["retry-after"])
    assert 0 < retry_after <= 1.0
    assert abs(int(r.headers["retry-after-ms"]) / 1000 - retry_after) < 0.002
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    a = c.post("/v1/messages", json=anthropic_req())
    assert a.status_code == 429 and a.json()["error"]["type"] == "rate_limit_error"
    assert a.json()["type"] == "error" and a.headers["anthropic-ratelimit-requests-limit"] == "60"
    time.sleep(float(a.headers["retry-after"]) + 0.02)  # the bucket refills continuously
    assert c.post("/v1/chat/completions", json=openai_req()).status_code == 200
    stats = c.get("/stats").json()
    assert (stats["requests"], stats["ok"], stats["rate_limited"]) == (5, 3, 2)


def test_tpm_bucket_counts_prompt_plus_max_tokens(serve):
    c = serve(tpm=6000, burst_s=2.0)  # bucket of 200 tokens
    ok = c.post("/v1/chat/completions", json=openai_req(max_tokens=100))
    assert ok.status_code == 200
    cost = ok.json()["usage"]["prompt_tokens"] + 100
    assert int(ok.headers["x-ratelimit-remaining-tokens"]) in (200 - cost, 200 - cost + 1)
    r = c.post("/v1/chat/completions", json=openai_req(max_tokens=100))
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    wait = float(r.headers["retry-after"])
    assert 0.5 < wait < 2.0  # ~120 tokens missing at 100 tokens/s
    time.sleep(wait + 0.02)
    assert c.post("/v1/chat/completions", json=openai_req(max_tokens=100)).status_code == 200


def test_error_injection_rate_and_statuses(serve):
    c = serve(error_rate=0.3, seed=7)
    statuses = [c.post("/v1/chat/completions", json=openai_req()).status_code for _ in range(300)]
    failed = [s for s in statuses if s != 200]
    assert set(failed) <= {500, 503, 529} and len(set(failed)) == 3
    assert 0.2 < len(failed) / len(statuses) < 0.4
    stats = c.get("/stats").json()
    assert stats["errors"] == len(failed) and stats["ok"] == 300 - len(failed)


def test_injected_error_bodies(serve):
    c = serve(error_rate=1.0, error_statuses=[529])
    r = c.post("/v1/messages", json=anthropic_req())
    assert r.status_code == 529 and r.json()["error"]["type"] == "overloaded_error"
    c.post("/config", json={"error_statuses": [500]}).raise_for_status()
    r = c.post("/v1/messages", json=anthropic_req())
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
    r = c.post("/v1/chat/completions", json=openai_req())
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize(
    ("mode", "openai_status", "openai_code", "anthropic_status", "anthropic_type"),
    [
        ("quota", 429, "insufficient_quota", 400, "invalid_request_error"),
        ("auth", 401, "invalid_api_key", 401, "authentication_error"),
        ("bad_request", 400, None, 400, "invalid_request_error"),
    ],
)
def test_fail_modes(serve, mode, openai_status, openai_code, anthropic_status, anthropic_type):
    c = serve(fail_mode=mode)
    r = c.post("/v1/chat/completions", json=openai_req())
    assert r.status_code == openai_status and r.json()["error"]["code"] == openai_code
    a = c.post("/v1/messages", json=anthropic_req())
    assert a.status_code == anthropic_status and a.json()["error"]["type"] == anthropic_type
    if mode == "quota":
        assert "credit balance is too low" in a.json()["error"]["message"]
    assert c.get("/stats").json()["rejected"] == 2


def test_stats_track_concurrency_and_throughput(serve):
    c = serve(latency_s=0.3)
    base = str(c.base_url)

    async def burst(n):
        async with httpx.AsyncClient(base_url=base, timeout=10) as ac:
            return await asyncio.gather(
                *(ac.post("/v1/chat/completions", json=openai_req()) for _ in range(n))
            )

    started = time.monotonic()
    responses = asyncio.run(burst(12))
    assert time.monotonic() - started < 2.0  # served concurrently, not one after another
    assert all(r.status_code == 200 for r in responses)
    stats = c.get("/stats").json()
    assert stats["requests"] == stats["ok"] == 12 and stats["in_flight"] == 0
    assert stats["peak_in_flight"] >= 10
    assert sum(stats["ok_per_second"]) == 12
    assert stats["prompt_tokens"] == 12 * responses[0].json()["usage"]["prompt_tokens"]
    assert stats["first_request_at"] <= stats["last_request_at"] <= time.time()
    c.post("/stats/reset").raise_for_status()
    stats = c.get("/stats").json()
    assert (stats["requests"], stats["ok"], stats["ok_per_second"], stats["first_request_at"]) == (
        0,
        0,
        [],
        None,
    )


def test_runtime_config_and_validation(serve):
    c = serve()
    assert c.get("/healthz").status_code == 200
    assert c.post("/config", json={"rpm": 60, "burst_s": 1}).json()["rpm"] == 60
    assert c.post("/v1/chat/completions", json=openai_req()).status_code == 200
    assert c.post("/v1/chat/completions", json=openai_req()).status_code == 429
    assert c.post("/config", json={"rpm": None}).status_code == 200
    assert c.post("/v1/chat/completions", json=openai_req()).status_code == 200
    assert c.post("/config", json={"no_such_field": 1}).status_code == 400
    assert c.post("/config", json={"latency_dist": "bogus"}).status_code == 400
    bad = c.post("/v1/messages", json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert bad.status_code == 400 and "max_tokens" in bad.json()["error"]["message"]
    assert c.post("/v1/chat/completions", content=b"{not json").status_code == 400
    assert c.get("/nope").status_code == 404


@pytest.mark.parametrize("dist", ["fixed", "uniform", "exponential", "lognormal"])
def test_latency_distributions_have_the_configured_mean(dist):
    config = FakeServerConfig(latency_s=0.5, latency_dist=dist, latency_jitter=0.5)
    rng = random.Random(3)
    samples = [sample_latency(config, rng) for _ in range(4000)]
    assert min(samples) >= 0
    assert statistics.fmean(samples) == pytest.approx(0.5, rel=0.06)
    assert (statistics.pstdev(samples) == 0) == (dist == "fixed")
