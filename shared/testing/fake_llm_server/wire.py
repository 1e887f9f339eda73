"""The OpenAI chat-completions and Anthropic messages wire formats: requests, bodies, headers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from labrun.shared.core.fake_model import count_tokens
from labrun.shared.testing.fake_llm_server.limits import BucketState

Headers = list[tuple[bytes, bytes]]
DEFAULT_MAX_TOKENS = 4096  # what an OpenAI request without max_tokens is charged


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class Parsed:
    model: str
    system: str
    user: str
    max_tokens: int
    prompt_tokens: int


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts / blocks
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        return ""
    raise BadRequest("content must be a string or a list of content blocks")


def _max_tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest("max_tokens must be a positive integer")
    return value


def _parsed(model: Any, system: str, user: str, max_tokens: int) -> Parsed:
    if not isinstance(model, str) or not model:
        raise BadRequest("model is required")
    prompt = count_tokens(system) + count_tokens(user) if system else count_tokens(user)
    return Parsed(model, system, user, max_tokens, prompt)


def _num(x: float) -> bytes:
    return (f"{max(x, 0.001):.3f}".rstrip("0").rstrip(".")).encode()


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _go_duration(s: float) -> str:
    if s < 1:
        return f"{round(s * 1000)}ms"
    if s < 60:
        return f"{s:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(s // 60)}m{s % 60:.0f}s"


class OpenAIWire:
    request_id_header = b"x-request-id"
    statuses = {"rate_limited": 429, "quota": 429, "auth": 401, "bad_request": 400}
    errors = {
        "rate_limited": ("requests", "rate_limit_exceeded"),
        "quota": ("insufficient_quota", "insufficient_quota"),
        "auth": ("invalid_request_error", "invalid_api_key"),
        "bad_request": ("invalid_request_error", None),
    }

    def parse(self, data: dict[str, Any]) -> Parsed:
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("messages must be a non-empty list")
        system: list[str] = []
        user: list[str] = []
        for m in messages:
            role = m.get("role") if isinstance(m, dict) else None
            (system if role in ("system", "developer") else user).append(_text(m.get("content")))
        limit = data.get("max_completion_tokens") or data.get("max_tokens")
        limit = DEFAULT_MAX_TOKENS if limit is None else _max_tokens(limit)
        return _parsed(data.get("model"), "\n".join(system), "\n".join(user), limit)

    def ok_body(self, p: Parsed, rid: str, text: str, completion_tokens: int, truncated: bool) -> bytes:
        return _dumps(
            {
                "id": "chatcmpl-" + rid[4:],
                "object": "chat.completion",
                "created": int(time.time()),
                "model": p.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "length" if truncated else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": p.prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": p.prompt_tokens + completion_tokens,
                },
                "system_fingerprint": "fp_fake",
            }
        )

    def error_body(self, kind: str | int, message: str, rid: str) -> tuple[int, bytes]:
        if isinstance(kind, int):
            status, etype, code = kind, "server_error", None
        else:
            status, (etype, code) = self.statuses[kind], self.errors[kind]
        return status, _dumps({"error": {"message": message, "type": etype, "param": None, "code": code}})

    def retry_headers(self, retry_after: float) -> Headers:
        return [
            (b"retry-after", _num(retry_after)),
            (b"retry-after-ms", str(round(retry_after * 1000)).encode()),
        ]

    def limit_headers(self, states: dict[str, BucketState]) -> Headers:
        out: Headers = []
        for name, suffix in (("requests", b"requests"), ("tokens", b"tokens")):
            s = states.get(name)
            if s is not None:
                out += [
                    (b"x-ratelimit-limit-" + suffix, str(s.limit).encode()),
                    (b"x-ratelimit-remaining-" + suffix, str(s.remaining).encode()),
                    (b"x-ratelimit-reset-" + suffix, _go_duration(s.reset_s).encode()),
                ]
        return out


class AnthropicWire:
    request_id_header = b"request-id"
    errors = {
        "rate_limited": (429, "rate_limit_error"),
        "quota": (400, "invalid_request_error"),
        "auth": (401, "authentication_error"),
        "bad_request": (400, "invalid_request_error"),
        529: (529, "overloaded_error"),
    }

    def parse(self, data: dict[str, Any]) -> Parsed:
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("messages: at least one message is required")
        if "max_tokens" not in data:
            raise BadRequest("max_tokens: Field required")
        user = "\n".join(_text(m.get("content")) for m in messages if isinstance(m, dict))
        return _parsed(data.get("model"), _text(data.get("system")), user, _max_tokens(data["max_tokens"]))

    def ok_body(self, p: Parsed, rid: str, text: str, completion_tokens: int, truncated: bool) -> bytes:
        return _dumps(
            {
                "id": "msg_" + rid[4:],
                "type": "message",
                "role": "assistant",
                "model": p.model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "max_tokens" if truncated else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": p.prompt_tokens, "output_tokens": completion_tokens},
            }
        )

    def error_body(self, kind: str | int, message: str, rid: str) -> tuple[int, bytes]:
        status, etype = self.errors.get(kind) or (int(kind), "api_error")
        return status, _dumps(
            {"type": "error", "error": {"type": etype, "message": message}, "request_id": rid}
        )

    def retry_headers(self, retry_after: float) -> Headers:
        return [(b"retry-after", _num(retry_after))]

    def limit_headers(self, states: dict[str, BucketState]) -> Headers:
        out: Headers = []
        now = time.time()
        names = (
            ("requests", "requests"),
            ("tokens", "tokens"),
            ("input-tokens", "input_tokens" if "input_tokens" in states else "tokens"),
            ("output-tokens", "output_tokens" if "output_tokens" in states else "tokens"),
        )
        for header, name in names:
            s = states.get(name)
            if s is not None:
                reset = datetime.fromtimestamp(now + s.reset_s, UTC).isoformat(timespec="seconds")
                prefix = b"anthropic-ratelimit-" + header.encode()
                out += [
                    (prefix + b"-limit", str(s.limit).encode()),
                    (prefix + b"-remaining", str(s.remaining).encode()),
                    (prefix + b"-reset", reset.replace("+00:00", "Z").encode()),
                ]
        return out


WIRES = {"/v1/chat/completions": OpenAIWire(), "/v1/messages": AnthropicWire()}
