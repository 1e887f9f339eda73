"""A datapoint's work item: the task state carried across executions, the use case's request, the
columns every row of it has, and the last-resort error row (outcomes: ``outcomes.py``).

Every row carries the segmentation fields: ``cache_hit`` and ``cached_cost_usd`` (an answer from
the response cache costs this run nothing; the price it was bought at is kept), ``input_chars``
(characters of the request's messages: the contents, without roles), ``prompt_hash`` (of the
run's prompt templates) and the answer's ``system_fingerprint``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.prepared import RunPlan
from labrun.shared.usecases.base import CallPlan, DatapointIn
from labrun.worker.context import WorkerContext
from labrun.worker.results import Loaded, upsert_prediction
from labrun.worker.run_policy import RunPolicy, known_policy

MAX_HISTORY = 20


@dataclass
class TaskState:
    """Carried across re-scheduled executions of one datapoint's task (JSON-serializable)."""

    attempts: int = 0
    first_attempt_at: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    # the raw record of an answer that could not be stored (the store was unreachable): carried
    # into the re-scheduled task, which records it without calling the provider again
    unsaved: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TaskState:
        return cls(**d) if d else cls()

    def to_dict(self) -> dict[str, Any]:
        d = {"attempts": self.attempts, "first_attempt_at": self.first_attempt_at, "history": self.history}
        return {**d, "unsaved": self.unsaved} if self.unsaved is not None else d


@dataclass
class Job:
    plan: RunPlan
    datapoint_id: int
    datapoint: DatapointIn
    call: CallPlan
    state: TaskState
    hostname: str
    policy: RunPolicy

    def base_row(self) -> dict[str, Any]:
        """The columns every outcome of this datapoint writes."""
        request = self.call.request
        return {
            "run_id": self.plan.run_id,
            "datapoint_id": self.datapoint_id,
            "request": request.as_dict(),
            "expected": self.datapoint.expected,
            "attempts": self.state.attempts,
            "worker_hostname": self.hostname,
            "started_at": datetime.fromtimestamp(self.state.first_attempt_at or time.time(), UTC),
            "finished_at": datetime.now(UTC),
            "input_chars": sum(len(m.content) for m in request.messages),
            "prompt_hash": self.policy.prompt_hash,
            "cache_hit": False,
            "cached_cost_usd": None,
            "system_fingerprint": None,
        }


def build_job(
    plan: RunPlan, datapoint_id: int, dp: Loaded, state: TaskState, hostname: str, policy: RunPolicy
) -> Job:
    datapoint = DatapointIn(dp.external_id, dp.inputs, dp.expected)
    call = plan.prepared.request(datapoint, plan.params)
    return Job(plan, datapoint_id, datapoint, call, state, hostname, policy)


def record_internal_error(
    ctx: WorkerContext, run_id: str, datapoint_id: int, state: TaskState, hostname: str, exc: BaseException
) -> None:
    """Last resort: a bug or an unreachable dependency becomes an error row, never a raised task."""
    policy = known_policy(run_id)  # no query: the database may be what failed
    upsert_prediction(
        ctx.db,
        {
            "run_id": run_id,
            "datapoint_id": datapoint_id,
            "status": PredictionStatus.FAILED,
            "attempts": state.attempts,
            "error_type": "internal",
            "error_message": f"{type(exc).__name__}: {exc}"[:2000],
            "worker_hostname": hostname,
            "started_at": datetime.fromtimestamp(state.first_attempt_at or time.time(), UTC),
            "finished_at": datetime.now(UTC),
            "cache_hit": False,
            "prompt_hash": policy.prompt_hash if policy is not None else None,
        },
        ctx.redis,
    )
