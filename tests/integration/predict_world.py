"""The predict loop in-process for the cache and budget tests: runs created like production, a
WorkerContext around a scripted provider (with an OpenAI-style body), a limiter that counts its
grants, a local store shared by the runs of one test, and a recorded (not slept) ``sleep``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from labrun.shared.core.calls import ChatRequest, ChatResponse
from labrun.shared.core.config import get_settings
from labrun.shared.core.failures import ProviderError
from labrun.shared.core.fake_model import answer
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.storage.artifacts import LocalStore
from labrun.shared.storage.db.models import Datapoint, Prediction
from labrun.shared.storage.db.session import Database, session_scope
from labrun.worker.context import WorkerContext
from labrun.worker.providers.base import Provider
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy
from tests.helpers import catalog_rows


class Scripted(Provider):
    """Plays a script shared by every client of one context: a ProviderError to raise, a finish
    reason, "garbage" (an answer that names no category), or "ok" (the default)."""

    name = "scripted"

    def __init__(self, spec, script: list, calls: list):
        super().__init__(spec, timeout=1.0)
        self.script, self.calls = script, calls

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.calls.append(request)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, ProviderError):
            raise step
        text = answer(request.system, request.user) if step != "garbage" else "no idea, sorry"
        body = {"choices": [{"message": {"content": text}}], "system_fingerprint": "fp_scripted"}
        return ChatResponse(
            text=text,
            finish_reason="stop" if step in ("ok", "garbage") else step,
            prompt_tokens=100,
            completion_tokens=5,
            model=request.model,
            request_id=f"req-{len(self.calls)}",
            status_code=200,
            body=json.dumps(body).encode(),
            latency_ms=12.5,
        )


class CountingLimiter(Limiter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grants = 0

    def acquire(self, *args: Any, **kwargs: Any):
        grant = super().acquire(*args, **kwargs)
        self.grants += grant.granted
        return grant


@dataclass
class World:
    db: Database
    redis: Any
    store: LocalStore
    calls: list = field(default_factory=list)
    sleeps: list = field(default_factory=list)

    def run(self, n: int = 3, *, start: bool = True, **create: Any) -> tuple[str, list[int]]:
        """A new run of the fake alias over the catalog's first ``n`` rows; its datapoint ids."""
        create.setdefault("model", "fake")
        with session_scope() as s:
            run = create_run(s, RunCreate(rows=catalog_rows(n=n), **create))
            if start:
                lifecycle.start(s, run.id)
            ids = list(
                s.scalars(
                    select(Datapoint.id)
                    .where(Datapoint.dataset_id == run.dataset_id)
                    .order_by(Datapoint.position)
                )
            )
            return run.id, ids

    def ctx(self, script: list | tuple = (), policy: RetryPolicy | None = None) -> WorkerContext:
        steps = list(script)
        ctx = WorkerContext(
            settings=get_settings(),
            db=self.db,
            redis=self.redis,
            store=self.store,
            limiter=CountingLimiter(self.redis, prefix=f"test:{uuid.uuid4().hex}"),
            retry=policy or RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02),
            make_provider=lambda spec, settings: Scripted(spec, steps, self.calls),
            sleep=self.sleeps.append,
        )
        return ctx


def rows_of(run_id: str) -> dict[int, Prediction]:
    with session_scope() as s:
        rows = s.scalars(select(Prediction).where(Prediction.run_id == run_id)).all()
        for p in rows:
            s.expunge(p)
        return {p.datapoint_id: p for p in rows}
