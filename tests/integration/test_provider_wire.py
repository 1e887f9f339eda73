"""What the providers put on the wire: the raw SDK POST must send exactly the request the typed
``create`` call would (path, auth headers, body fields), since labrun skips the SDKs' own
request transformation."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labrun.shared.core.calls import Message
from labrun.shared.core.catalog import load_catalog
from labrun.worker.providers import ChatRequest, provider_class

pytestmark = pytest.mark.integration

OPENAI_BODY = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "A > B"}}],
    "usage": {"prompt_tokens": 11, "completion_tokens": 3},
}
ANTHROPIC_BODY = {
    "id": "msg_1",
    "model": "claude-haiku",
    "content": [{"type": "text", "text": "A > B"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 12, "output_tokens": 4},
}


@pytest.fixture
def capture() -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen.append(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            reply = json.dumps(ANTHROPIC_BODY if self.path.endswith("/messages") else OPENAI_BODY).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("x-request-id", "req-1")
            self.send_header("request-id", "req-1")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def wire(capture, monkeypatch) -> list[dict]:
    """Both SDKs pointed at the capture server; returns the list of captured requests."""
    base, seen = capture
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wire")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wire")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base)
    return seen


def _provider(alias: str, **options: object):
    spec = load_catalog().get(alias)
    spec = spec.model_copy(update={"options": {**spec.options, **options}})
    return provider_class(spec.provider)(spec, timeout=5.0)


def _request(spec) -> ChatRequest:
    return ChatRequest.chat(spec.model, "SYS", "USER", max_tokens=77, temperature=0.0)


CONVERSATION = (
    Message("system", "SYS"),
    Message("user", "Q1"),
    Message("assistant", "A1"),
    Message("user", "Q2"),
)


def _full_request(spec) -> ChatRequest:
    """A conversation in JSON mode with stop sequences and a seed."""
    return ChatRequest(
        model=spec.model,
        messages=CONVERSATION,
        max_tokens=77,
        temperature=0.5,
        response_format="json",
        stop=("\n\n", "END"),
        seed=42,
    )


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_openai_request_on_the_wire(wire, param):
    provider = _provider("gpt4o_mini", max_tokens_param=param)
    resp = provider.complete(_request(provider.spec))
    assert (resp.text, resp.prompt_tokens, resp.completion_tokens, resp.request_id) == (
        "A > B",
        11,
        3,
        "req-1",
    )
    assert json.loads(resp.body) == OPENAI_BODY
    [call] = wire
    assert call["path"] == "/v1/chat/completions"
    assert call["headers"]["authorization"] == "Bearer sk-wire"
    assert call["body"] == {
        "model": provider.spec.model,
        "messages": [{"role": "system", "content": "SYS"}, {"role": "user", "content": "USER"}],
        "temperature": 0.0,
        param: 77,
    }


def test_openai_sends_the_conversation_json_mode_stop_and_seed(wire):
    provider = _provider("gpt4o_mini")
    provider.complete(_full_request(provider.spec))
    [call] = wire
    assert call["body"] == {
        "model": provider.spec.model,
        "messages": [{"role": m.role, "content": m.content} for m in CONVERSATION],
        "temperature": 0.5,
        "max_tokens": 77,
        "response_format": {"type": "json_object"},
        "stop": ["\n\n", "END"],
        "seed": 42,
    }


def test_anthropic_sends_the_conversation_and_stop_sequences_only(wire):
    provider = _provider("haiku")
    provider.complete(_full_request(provider.spec))
    [call] = wire  # this API has no JSON mode and no seed: left out
    assert call["body"] == {
        "model": provider.spec.model,
        "max_tokens": 77,
        "system": "SYS",
        "messages": [{"role": m.role, "content": m.content} for m in CONVERSATION[1:]],
        "temperature": 0.5,
        "stop_sequences": ["\n\n", "END"],
    }


@pytest.mark.parametrize("send_temperature", [True, False])
def test_anthropic_request_on_the_wire(wire, send_temperature):
    provider = _provider("haiku", send_temperature=send_temperature)
    resp = provider.complete(_request(provider.spec))
    assert (resp.text, resp.prompt_tokens, resp.completion_tokens, resp.finish_reason) == (
        "A > B",
        12,
        4,
        "stop",
    )
    [call] = wire
    assert call["path"] == "/v1/messages"
    assert call["headers"]["anthropic-version"]
    assert "sk-ant-wire" in (call["headers"].get("x-api-key"), call["headers"].get("authorization", "")[7:])
    expected = {
        "model": provider.spec.model,
        "max_tokens": 77,
        "messages": [{"role": "user", "content": "USER"}],
        "system": "SYS",
    }
    if send_temperature:
        expected["temperature"] = 0.0
    assert call["body"] == expected


AUTH = ("authorization", "x-api-key", "anthropic-version", "content-type")


def test_raw_posts_match_the_typed_sdk_calls(wire):
    """The typed ``create`` calls and labrun's raw POSTs put the same path, auth and body on the wire."""
    import anthropic
    import openai

    oa, an = _provider("gpt4o_mini"), _provider("haiku")
    msgs = [{"role": "system", "content": "SYS"}, {"role": "user", "content": "USER"}]
    openai.OpenAI(max_retries=0).chat.completions.create(
        model=oa.spec.model,
        messages=msgs,
        temperature=0.0,
        max_tokens=77,  # type: ignore[arg-type]
    )
    oa.complete(_request(oa.spec))
    anthropic.Anthropic(max_retries=0).messages.create(  # this SDK has no typed temperature
        model=an.spec.model,
        max_tokens=77,
        system="SYS",
        messages=[{"role": "user", "content": "USER"}],
        extra_body={"temperature": 0.0},
    )
    an.complete(_request(an.spec))
    openai.OpenAI(max_retries=0).chat.completions.create(
        model=oa.spec.model,
        messages=[{"role": m.role, "content": m.content} for m in CONVERSATION],  # type: ignore[misc]
        temperature=0.5,
        max_tokens=77,
        response_format={"type": "json_object"},
        stop=["\n\n", "END"],
        seed=42,
    )
    oa.complete(_full_request(oa.spec))
    typed_oa, raw_oa, typed_an, raw_an, typed_full, raw_full = wire
    assert raw_full["body"]["seed"] == 42  # the full request did reach the wire
    for typed, raw in ((typed_oa, raw_oa), (typed_an, raw_an), (typed_full, raw_full)):
        assert raw["path"] == typed["path"]
        assert raw["body"] == typed["body"]
        assert {h: raw["headers"].get(h) for h in AUTH} == {h: typed["headers"].get(h) for h in AUTH}
