"""A datapoint's work item: the task state carried across executions, the rendered request,
and how the outcome is recorded (raw artifact + prediction row)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.assign_cat.parser import parse_answer
from shared.assign_cat.prompt import render
from shared.assign_cat.scoring import is_correct
from shared.assign_cat.taxonomy import split_path
from shared.runs.context import RunContext
from worker import clients
from worker.providers import ChatRequest, ChatResponse, ProviderError
from worker.results import Loaded, body_field, save_raw, upsert_prediction

MAX_HISTORY = 20


@dataclass
class TaskState:
    """Carried across re-scheduled executions of one datapoint's task (JSON-serializable)."""

    attempts: int = 0
    first_attempt_at: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TaskState:
        return cls(**d) if d else cls()

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "first_attempt_at": self.first_attempt_at, "history": self.history}


@dataclass
class Job:
    ctx: RunContext
    datapoint_id: int
    external_id: str
    expected: str | None
    request: ChatRequest
    candidates: list[str]
    state: TaskState
    hostname: str


def build_job(run_id: str, datapoint_id: int, dp: Loaded, state: TaskState, hostname: str) -> Job:
    ctx = clients.run_context(run_id)
    inputs, external_id, expected = dp.inputs, dp.external_id, dp.expected
    product = " ".join(str(inputs.get(k) or "") for k in ("title", "brand", "description"))
    candidates = ctx.taxonomy.shortlist(product, ctx.max_candidates)
    prompt = render(ctx.template, {"id": external_id, **inputs}, candidates)
    request = ChatRequest(
        model=ctx.spec.model,
        system=prompt.system,
        user=prompt.user,
        max_tokens=ctx.max_tokens,
        temperature=ctx.spec.temperature,
    )
    return Job(ctx, datapoint_id, external_id, expected, request, candidates, state, hostname)


def attempt_summary(attempt: int, err: ProviderError) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(),
        "error_type": err.error_type,
        "status_code": err.status_code,
        "request_id": err.request_id,
        "retry_after": err.retry_after,
        "headers": err.headers,
        **body_field(err.body),
    }


def finish(job: Job, response: ChatResponse | None, err: ProviderError | None) -> None:
    """Store the raw response (success or final error) and upsert the row."""
    spec = job.ctx.spec
    request = job.request.as_dict()
    raw: dict[str, Any] = {
        "run_id": job.ctx.run_id,
        "datapoint_id": job.external_id,
        "provider": spec.provider,
        "model": spec.model,
        "request": request,
        "attempts": job.state.attempts,
        "history": job.state.history,
    }
    row: dict[str, Any] = {
        "run_id": job.ctx.run_id,
        "datapoint_id": job.datapoint_id,
        "request": request,
        "expected": job.expected,
        "expected_path": split_path(job.expected) if job.expected else None,
        "attempts": job.state.attempts,
        "worker_hostname": job.hostname,
        "started_at": datetime.fromtimestamp(job.state.first_attempt_at or time.time(), UTC),
        "finished_at": datetime.now(UTC),
    }
    if response is not None:
        raw["response"] = {
            "status_code": response.status_code,
            "request_id": response.request_id,
            "headers": response.headers,
            "latency_ms": response.latency_ms,
            **body_field(response.body),
        }
        row.update(_success_fields(job, response))
    else:
        assert err is not None
        raw["error"] = attempt_summary(job.state.attempts, err)
        row.update(
            status="failed",
            error_type=err.error_type,
            error_message=err.message[:2000],
            provider_request_id=err.request_id,
        )
    row["raw_uri"] = save_raw(clients.store(), job.ctx.run_id, job.external_id, raw)
    upsert_prediction(row)


def _success_fields(job: Job, r: ChatResponse) -> dict[str, Any]:
    parsed = parse_answer(r.text, job.ctx.taxonomy, job.candidates)
    error_type = {"length": "truncated", "content_filter": "content_filter"}.get(r.finish_reason or "")
    if error_type is None and parsed.path is None:
        error_type = "parse_error"
    return {
        "status": "failed" if error_type else "succeeded",
        "error_type": error_type,
        "error_message": f"could not map the answer to the taxonomy: {r.text[:200]!r}"
        if error_type == "parse_error"
        else None,
        "raw_output": r.text,
        "parsed": parsed.path,
        "parsed_path": split_path(parsed.path) if parsed.path else None,
        "parse_method": parsed.method,
        "correct": is_correct(parsed.path, job.expected) if not error_type else None,
        "finish_reason": r.finish_reason,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cost_usd": job.ctx.spec.cost_usd(r.prompt_tokens, r.completion_tokens),
        "latency_ms": r.latency_ms,
        "response_model": r.model,
        "provider_request_id": r.request_id,
    }


def record_internal_error(
    run_id: str, datapoint_id: int, state: TaskState, hostname: str, exc: Exception
) -> None:
    """Last resort: a bug or an unreachable dependency becomes an error row, never a raised task."""
    upsert_prediction(
        {
            "run_id": run_id,
            "datapoint_id": datapoint_id,
            "status": "failed",
            "attempts": state.attempts,
            "error_type": "internal",
            "error_message": f"{type(exc).__name__}: {exc}"[:2000],
            "worker_hostname": hostname,
            "started_at": datetime.fromtimestamp(state.first_attempt_at or time.time(), UTC),
            "finished_at": datetime.now(UTC),
        }
    )
