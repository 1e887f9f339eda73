"""Per-alias endpoints and keys (``base_url``, ``api_key_env``): each key reaches only its own server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labrun.shared.core.catalog import ModelSpec, parse_catalog
from labrun.worker.providers import ChatRequest, ProviderError, provider_class
from labrun.worker.providers.http_errors import fingerprint

pytestmark = pytest.mark.integration

SENTINEL = "sk-default-SENTINEL"  # the default variables' key: must never reach an alias's server
CHOICE = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
OPENAI_BODY = {"id": "c1", "model": "m", "choices": [CHOICE], "usage": {"prompt_tokens": 5}}
ANTHROPIC_BODY = {
    "id": "m1",
    "model": "m",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
}


class Recorder:
    """A loopback HTTP server answering chat calls and recording every request's credential headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str | None]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("content-length") or 0))
                names = ("authorization", "x-api-key", "openai-organization")
                seen.append({n: self.headers.get(n) for n in names} | {"path": self.path})
                reply = json.dumps(ANTHROPIC_BODY if self.path.endswith("/messages") else OPENAI_BODY)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def credentials(self) -> set[str]:
        return {v for r in self.seen for k, v in r.items() if k != "path" and v}


@pytest.fixture
def servers() -> Iterator[Callable[[], Recorder]]:
    started: list[Recorder] = []

    def start() -> Recorder:
        started.append(Recorder())
        return started[-1]

    yield start
    for recorder in started:
        recorder.close()


@pytest.fixture
def default_server(servers, monkeypatch) -> Recorder:
    """Where the default variables point, holding the sentinel keys: no alias below may use them."""
    default = servers()
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{default.url}/v1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", SENTINEL)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", default.url)
    return default


def spec(alias: str, provider: str = "openai", **fields: object) -> ModelSpec:
    entry = {"provider": provider, "model": "local-model", "price_per_1m": {"input": 0, "output": 0}}
    return parse_catalog({"models": {alias: entry | fields}}).get(alias)


def call(s: ModelSpec):
    provider = provider_class(s.provider)(s, timeout=5.0)
    try:
        return provider, provider.complete(ChatRequest.chat(s.model, "SYS", "USER", max_tokens=8))
    finally:
        provider.close()


def test_each_alias_key_goes_only_to_its_own_server(servers, default_server, monkeypatch):
    one, two = servers(), servers()
    monkeypatch.setenv("LOCAL_ONE_KEY", "sk-one")
    monkeypatch.setenv("LOCAL_TWO_KEY", "sk-two")
    a = spec("one", base_url=f"{one.url}/v1", api_key_env="LOCAL_ONE_KEY")
    b = spec("two", base_url=f"{two.url}/v1", api_key_env="LOCAL_TWO_KEY")
    provider_a, resp_a = call(a)
    provider_b, resp_b = call(b)
    assert resp_a.text == resp_b.text == "ok"
    assert [r["path"] for r in one.seen] == [r["path"] for r in two.seen] == ["/v1/chat/completions"]
    assert one.credentials() == {"Bearer sk-one"} and two.credentials() == {"Bearer sk-two"}
    assert default_server.seen == []
    assert provider_a.key_fingerprint() == fingerprint("sk-one") != provider_b.key_fingerprint()
    # the run snapshot stores the spec: the variable's name and the endpoint, never the key
    dumped = json.dumps(a.model_dump(mode="json"))
    assert "LOCAL_ONE_KEY" in dumped and one.url in dumped and "sk-one" not in dumped


@pytest.mark.parametrize("legacy", [False, True])
def test_base_url_without_api_key_env_sends_no_key(servers, default_server, legacy):
    local = servers()
    fields = {"options": {"base_url": f"{local.url}/v1"}} if legacy else {"base_url": f"{local.url}/v1"}
    s = spec("vllm", **fields)
    assert s.base_url == f"{local.url}/v1" and "base_url" not in s.options
    provider, resp = call(s)
    assert resp.text == "ok" and len(local.seen) == 1
    assert local.credentials() == {"Bearer unused"}  # the SDK's required placeholder, not a key
    assert default_server.seen == [] and provider.key_fingerprint() != fingerprint(SENTINEL)


def test_missing_api_key_env_is_an_auth_error_without_a_request(servers, default_server, monkeypatch):
    local = servers()
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    s = spec("orphan", base_url=f"{local.url}/v1", api_key_env="NOT_SET_KEY")
    provider = provider_class("openai")(s, timeout=5.0)  # constructing does not fail
    with pytest.raises(ProviderError) as info:
        provider.complete(ChatRequest.chat(s.model, "", "USER", max_tokens=8))
    assert info.value.error_type == "auth"
    assert "NOT_SET_KEY" in info.value.message and "orphan" in info.value.message
    assert local.seen == [] and default_server.seen == []
    monkeypatch.setenv("NOT_SET_KEY", "")  # empty counts as missing
    with pytest.raises(ProviderError, match="NOT_SET_KEY"):
        provider_class("openai")(s, timeout=5.0).complete(ChatRequest.chat(s.model, "", "U", max_tokens=8))


def test_api_key_env_without_base_url_goes_to_the_official_endpoint(default_server, monkeypatch):
    monkeypatch.setenv("TEAM_OPENAI_KEY", "sk-team")
    monkeypatch.setenv("TEAM_ANTHROPIC_KEY", "sk-ant-team")
    openai_provider = provider_class("openai")(spec("t", api_key_env="TEAM_OPENAI_KEY"), timeout=5.0)
    anthropic_provider = provider_class("anthropic")(
        spec("c", "anthropic", api_key_env="TEAM_ANTHROPIC_KEY"), timeout=5.0
    )
    # not OPENAI_BASE_URL / ANTHROPIC_BASE_URL (the default server): no request is made here
    assert str(openai_provider._client.base_url).rstrip("/") == "https://api.openai.com/v1"
    assert str(anthropic_provider._client.base_url).rstrip("/") == "https://api.anthropic.com"
    assert openai_provider.key_fingerprint() == fingerprint("sk-team")
    openai_provider.close()
    anthropic_provider.close()


def test_anthropic_alias_key_goes_only_to_its_server(servers, default_server, monkeypatch):
    local = servers()
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", SENTINEL + "-token")
    monkeypatch.setenv("PROXY_ANTHROPIC_KEY", "sk-ant-proxy")
    provider, resp = call(spec("proxy", "anthropic", base_url=local.url, api_key_env="PROXY_ANTHROPIC_KEY"))
    assert resp.text == "ok" and [r["path"] for r in local.seen] == ["/v1/messages"]
    [used] = local.credentials()  # x-api-key, or a bearer token, depending on the SDK version
    assert used in ("sk-ant-proxy", "Bearer sk-ant-proxy")
    assert default_server.seen == [] and provider.key_fingerprint() == fingerprint("sk-ant-proxy")


def test_sdk_environment_settings_add_no_credentials_to_an_alias(servers, default_server, monkeypatch):
    """The SDKs also read custom headers and the OpenAI organization from the environment."""
    local = servers()
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", f"Authorization: Bearer {SENTINEL}\nX-Api-Key: {SENTINEL}")
    monkeypatch.setenv("ANTHROPIC_CUSTOM_HEADERS", f"X-Api-Key: {SENTINEL}")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-default")
    monkeypatch.setenv("OWN_KEY", "sk-own")
    call(spec("a", base_url=f"{local.url}/v1", api_key_env="OWN_KEY"))
    call(spec("b", base_url=f"{local.url}/v1"))
    call(spec("c", "anthropic", base_url=local.url, api_key_env="OWN_KEY"))
    assert local.credentials() == {"Bearer sk-own", "Bearer unused"} and len(local.seen) == 3
    assert default_server.seen == []
