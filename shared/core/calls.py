"""The LLM call contract, below everything: what a use case asks for and what a provider answers.

A :class:`ChatRequest` is a message list plus generation parameters (optional JSON mode, stop
sequences, seed). A :class:`ChatResponse` keeps the provider's raw HTTP body byte for byte. Use
cases build requests and judge responses with these types; providers (in the worker) turn one into
the other; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
ResponseFormat = Literal["text", "json"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float = 0.0
    response_format: ResponseFormat = "text"  # "json": ask for a JSON object (JSON mode)
    stop: tuple[str, ...] = ()
    seed: int | None = None

    @classmethod
    def chat(cls, model: str, system: str, user: str, max_tokens: int, **params: Any) -> ChatRequest:
        """The common shape: an optional system message and one user message."""
        messages = (Message("system", system), Message("user", user)) if system else (Message("user", user),)
        return cls(model=model, messages=messages, max_tokens=max_tokens, **params)

    @property
    def system(self) -> str:
        return "\n\n".join(m.content for m in self.messages if m.role == "system")

    @property
    def conversation(self) -> list[dict[str, str]]:
        """The non-system messages as ``{"role", "content"}`` dicts."""
        return [{"role": m.role, "content": m.content} for m in self.messages if m.role != "system"]

    @property
    def user(self) -> str:
        """The last user message."""
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")

    def text(self) -> str:
        """All message contents (for token estimates)."""
        return "".join(m.content for m in self.messages)

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored with every prediction and raw response; optional fields only when set."""
        out: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.response_format != "text":
            out["response_format"] = self.response_format
        if self.stop:
            out["stop"] = list(self.stop)
        if self.seed is not None:
            out["seed"] = self.seed
        return out


@dataclass(frozen=True)
class ChatResponse:
    text: str
    finish_reason: str | None  # normalized: "stop", "length", "content_filter", or the raw value
    prompt_tokens: int
    completion_tokens: int
    model: str | None
    request_id: str | None
    status_code: int
    body: bytes  # the provider's response body, byte for byte
    headers: dict[str, str] = field(default_factory=dict)  # request id + rate-limit headers
    latency_ms: float = 0.0
