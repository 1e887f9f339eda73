"""An offline provider: answers with :mod:`labrun.shared.core.fake_model`, never touches the network.

Options (``spec.options``):

- ``latency_ms`` (default 0): sleep this long per call.
- ``fail_rate`` (0..1, default 0) and ``fail_with`` (an ERROR_TYPES value, default
  ``"server_error"``): a prompt fails when a stable hash of (``seed``, user prompt) falls below
  ``fail_rate``, so the same datapoint always fails, in every process. ``"truncated"`` and
  ``"parse_error"`` are not raised: they return a cut answer (``finish_reason="length"``) or an
  answer that names no category.
- ``fail_attempts`` (default 0 = always): when > 0, a failing prompt fails only on its first N calls
  *in this process* (a per-process counter), so retries can succeed. Counts are not shared between
  worker processes: a retry landing on another process starts that process's count afresh.
- ``retry_after`` (default 1.0): seconds reported with ``"rate_limited"`` failures.
- ``guess_rate`` (0..1, default 0): a weaker model. A prompt whose stable hash falls below it is
  answered with a candidate picked by that hash instead of the best match.
- ``seed`` (default 0).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter

from labrun.shared.core.fake_model import answer, count_tokens
from labrun.worker.providers import register
from labrun.worker.providers.base import ERROR_TYPES, ChatRequest, ChatResponse, Provider, ProviderError

STATUS = {"rate_limited": 429, "quota": 429, "auth": 401, "bad_request": 400, "content_filter": 400}
STATUS |= {"overloaded": 529, "server_error": 500, "internal": 500}
NOT_RAISED = ("truncated", "parse_error")
PARSE_ERROR_TEXT = "I'm not sure which category fits this product."

_calls: Counter[tuple[str, str]] = Counter()  # (alias, failing prompt hash) -> calls in this process
_calls_lock = threading.Lock()


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


def reset_fail_counters() -> None:
    """Forget the per-process ``fail_attempts`` counts (for tests)."""
    with _calls_lock:
        _calls.clear()


@register("fake")
class FakeProvider(Provider):
    def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        if latency_ms := float(self.spec.options.get("latency_ms", 0) or 0):
            time.sleep(latency_ms / 1000)
        key = _digest(request.model, request.system, request.user)
        failure = self._failure(request)
        text = self._answer(request) if failure != "parse_error" else PARSE_ERROR_TEXT
        completion = count_tokens(text)
        finish = "stop"
        if failure == "truncated" or completion > request.max_tokens:
            limit = min(request.max_tokens, max(1, completion // 2)) if failure else request.max_tokens
            text, completion, finish = text[: limit * 4], limit, "length"
        prompt = (
            count_tokens(request.system) + count_tokens(request.user)
            if request.system
            else count_tokens(request.user)
        )
        body = {
            "id": f"chatcmpl-fake-{key[:24]}",
            "object": "chat.completion",
            "created": 0,
            "model": request.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
        return ChatResponse(
            text=text,
            finish_reason=finish,
            prompt_tokens=prompt,
            completion_tokens=completion,
            model=request.model,
            request_id=f"fake-{key[:16]}",
            status_code=200,
            body=json.dumps(body, separators=(",", ":")).encode(),
            headers={"x-request-id": f"fake-{key[:16]}"},
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _answer(self, request: ChatRequest) -> str:
        rate = float(self.spec.options.get("guess_rate", 0) or 0)
        key = _digest("guess", self.spec.options.get("seed", 0), request.user)
        if rate > 0 and int(key[:13], 16) / 16**13 < rate:
            lines = f"{request.system}\n{request.user}".splitlines()
            candidates = [ln.strip()[2:].strip() for ln in lines if ln.strip().startswith("- ")]
            if candidates:
                return candidates[int(key[13:26], 16) % len(candidates)]
        return answer(request.system, request.user)

    def _failure(self, request: ChatRequest) -> str | None:
        """The configured failure for this prompt, or None; raises the raisable ones."""
        opts = self.spec.options
        rate = float(opts.get("fail_rate", 0) or 0)
        if rate <= 0:
            return None
        key = _digest(opts.get("seed", 0), request.user)
        if int(key[:13], 16) / 16**13 >= rate:
            return None
        attempts = int(opts.get("fail_attempts", 0) or 0)
        if attempts > 0:
            with _calls_lock:
                _calls[self.spec.alias, key] += 1
                if _calls[self.spec.alias, key] > attempts:
                    return None
        kind = opts.get("fail_with", "server_error")
        if kind not in ERROR_TYPES:
            raise ValueError(f"fail_with must be one of {ERROR_TYPES}, not {kind!r}")
        if kind in NOT_RAISED:
            return kind
        status = STATUS.get(kind)
        message = f"fake {kind} failure (fail_rate={rate})"
        raise ProviderError(
            kind,
            message,
            status_code=status,
            retry_after=float(opts.get("retry_after", 1.0)) if kind == "rate_limited" else None,
            body=json.dumps({"error": {"message": message, "type": kind, "code": kind}}).encode()
            if status
            else None,
            request_id=f"fake-{key[:16]}",
        )

    def key_fingerprint(self) -> str:
        return "fake"
