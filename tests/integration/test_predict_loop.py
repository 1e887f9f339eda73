"""The predict loop in-process: a WorkerContext with a scripted provider, real Postgres and Redis,
a local store and a recorded (not slept) ``sleep``. Every error class's path, the inline-wait vs
re-schedule boundary, duplicate deliveries and cancelled runs, in milliseconds."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from sqlalchemy import select

from labrun.shared.core.calls import ChatRequest, ChatResponse
from labrun.shared.core.config import get_settings
from labrun.shared.core.failures import ProviderError
from labrun.shared.core.fake_model import answer
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.storage.artifacts import LocalStore
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.shared.storage.db.session import Database, session_scope
from labrun.worker.context import WorkerContext
from labrun.worker.jobs import TaskState
from labrun.worker.predict import predict_datapoint
from labrun.worker.providers.base import Provider
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy
from tests.helpers import catalog_rows

pytestmark = pytest.mark.integration


class Scripted(Provider):
    """Plays a script: each item is a ProviderError to raise, a finish reason, or "ok"."""

    name = "scripted"

    def __init__(self, spec, script):
        super().__init__(spec, timeout=1.0)
        self.script, self.calls = list(script), 0

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, ProviderError):
            raise step
        text = answer(request.system, request.user) if step != "garbage" else "no idea, sorry"
        return ChatResponse(
            text=text,
            finish_reason="stop" if step in ("ok", "garbage") else step,
            prompt_tokens=100,
            completion_tokens=5,
            model=request.model,
            request_id=f"req-{self.calls}",
            status_code=200,
            body=json.dumps({"text": text}).encode(),
        )


@pytest.fixture
def world(settings_env, redis_conn, tmp_path):
    """A fresh 3-row run of the fake alias and a context factory around a scripted provider."""
    with session_scope() as s:
        run = create_run(s, RunCreate(model="fake", rows=catalog_rows(n=3)))
        run_id = run.id
        dp_ids = list(s.scalars(select(Datapoint.id).where(Datapoint.dataset_id == run.dataset_id)))
    db = Database.from_settings(get_settings())
    sleeps: list[float] = []

    def make(script=(), policy=RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)):
        provider: dict[str, Scripted] = {}

        def factory(spec, settings):
            provider["p"] = Scripted(spec, script)
            return provider["p"]

        ctx = WorkerContext(
            settings=get_settings(),
            db=db,
            redis=redis_conn,
            store=LocalStore(tmp_path / "store"),
            limiter=Limiter(redis_conn, prefix=f"test:{uuid.uuid4().hex}"),
            retry=policy,
            make_provider=factory,
            sleep=sleeps.append,
        )
        return ctx, provider

    yield run_id, dp_ids, make, sleeps
    db.dispose()


def row(run_id: str, dp_id: int) -> Prediction:
    with session_scope() as s:
        p = s.get(Prediction, (run_id, dp_id))
        assert p is not None
        s.expunge(p)
        return p


def test_a_success_is_one_call_one_row_one_raw_object(world):
    run_id, dp_ids, make, sleeps = world
    ctx, provider = make()
    out = predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h1")
    assert out.done and provider["p"].calls == 1 and sleeps == []
    p = row(run_id, dp_ids[0])
    assert p.status == "succeeded" and p.attempts == 1 and p.correct is not None
    assert p.details["parse_method"] and p.details["parsed_path"] == p.parsed.split(" > ")
    assert p.cost_usd > 0 and p.prompt_tokens == 100 and p.worker_hostname == "h1"
    raw = json.loads(ctx.store.get(p.raw_uri))
    assert raw["request"]["messages"][-1]["role"] == "user" and "response" in raw


@pytest.mark.parametrize("kind", ["server_error", "overloaded", "timeout", "connection"])
def test_transient_errors_are_retried_inline_with_backoff(world, kind):
    run_id, dp_ids, make, sleeps = world
    ctx, provider = make([ProviderError(kind, "x"), ProviderError(kind, "y")])
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    p = row(run_id, dp_ids[0])
    assert (p.status, p.attempts, provider["p"].calls) == ("succeeded", 3, 3)
    assert len(sleeps) == 2 and all(0 <= s <= 0.05 for s in sleeps)
    assert [h["error_type"] for h in json.loads(ctx.store.get(p.raw_uri))["history"]] == [kind, kind]


@pytest.mark.parametrize("kind", ["quota", "auth", "bad_request", "content_filter"])
def test_final_errors_are_recorded_after_one_attempt(world, kind):
    run_id, dp_ids, make, sleeps = world
    ctx, provider = make([ProviderError(kind, f"{kind} says no", status_code=400)])
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    p = row(run_id, dp_ids[0])
    assert (p.status, p.error_type, p.attempts, provider["p"].calls) == ("failed", kind, 1, 1)
    assert p.correct is None and sleeps == []
    assert json.loads(ctx.store.get(p.raw_uri))["error"]["error_type"] == kind


def test_retries_stop_at_the_attempt_limit(world):
    run_id, dp_ids, make, _ = world
    ctx, provider = make([ProviderError("server_error", "boom")] * 10)
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    p = row(run_id, dp_ids[0])
    assert (p.status, p.error_type, p.attempts, provider["p"].calls) == ("failed", "server_error", 4, 4)


def test_a_long_retry_after_reschedules_the_task_with_its_state(world):
    run_id, dp_ids, make, sleeps = world
    long_wait = get_settings().inline_wait_max_s + 5
    ctx, provider = make([ProviderError("rate_limited", "slow down", retry_after=long_wait)])
    state = TaskState()
    out = predict_datapoint(ctx, run_id, dp_ids[0], state, "h")
    assert not out.done and out.delay_s == long_wait and sleeps == []
    assert state.attempts == 1 and state.history[0]["error_type"] == "rate_limited"
    with session_scope() as s:
        assert s.get(Prediction, (run_id, dp_ids[0])) is None  # nothing recorded yet
    ctx.limiter.client.delete(*ctx.limiter.client.keys(f"{ctx.limiter.prefix}*"))  # the cool-down is over
    assert predict_datapoint(ctx, run_id, dp_ids[0], state, "h").done  # the re-delivered task
    p = row(run_id, dp_ids[0])
    assert (p.status, p.attempts) == ("succeeded", 2)


def test_a_short_retry_after_is_waited_inline(world):
    run_id, dp_ids, make, sleeps = world
    ctx, provider = make([ProviderError("rate_limited", "slow down", retry_after=0.01)])
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    assert sleeps == [0.01] and row(run_id, dp_ids[0]).attempts == 2


@pytest.mark.parametrize(("step", "error_type"), [("length", "truncated"), ("content_filter", "content_filter"),
                                                  ("garbage", "parse_error")])  # fmt: skip
def test_answers_that_are_not_valid_are_failures_not_wrong_answers(world, step, error_type):
    run_id, dp_ids, make, _ = world
    ctx, _provider = make([step])
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    p = row(run_id, dp_ids[0])
    assert (p.status, p.error_type, p.correct, p.attempts) == ("failed", error_type, None, 1)
    assert p.raw_output is not None and p.prompt_tokens == 100  # paid for, so counted


def test_a_duplicate_delivery_of_a_finished_datapoint_makes_no_call(world):
    run_id, dp_ids, make, _ = world
    ctx, provider = make()
    predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h")
    assert provider["p"].calls == 1
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    assert provider["p"].calls == 1


def test_a_cancelled_run_makes_no_calls(world):
    run_id, dp_ids, make, _ = world
    lifecycle.cancel(run_id)
    ctx, provider = make()
    assert predict_datapoint(ctx, run_id, dp_ids[1], TaskState(), "h").done
    assert "p" not in provider
    with session_scope() as s:
        assert s.get(Run, run_id).status == "cancelled" and s.get(Prediction, (run_id, dp_ids[1])) is None


def _forget_row(run_id: str, dp_id: int) -> None:
    """What a crash between storing the raw answer and writing the row leaves behind."""
    from sqlalchemy import delete

    with session_scope() as s:
        s.execute(delete(Prediction).where(Prediction.run_id == run_id, Prediction.datapoint_id == dp_id))


@pytest.mark.parametrize("first", ["ok", ProviderError("quota", "no credit", status_code=429)])
def test_an_answer_stored_but_not_recorded_is_not_paid_twice(world, first):
    run_id, dp_ids, make, _ = world
    ctx, provider = make([first])
    assert predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h").done
    before = row(run_id, dp_ids[0])
    _forget_row(run_id, dp_ids[0])
    ctx2, provider2 = make([ProviderError("server_error", "must not be called")] * 10)
    assert predict_datapoint(ctx2, run_id, dp_ids[0], TaskState(), "h2", recover=True).done
    assert "p" not in provider2 or provider2["p"].calls == 0
    after = row(run_id, dp_ids[0])
    for col in ("status", "error_type", "parsed", "correct", "prompt_tokens", "cost_usd", "attempts", "raw_uri",
                "error_message", "details"):  # fmt: skip
        assert getattr(after, col) == getattr(before, col), col


def test_without_a_stored_answer_a_recovered_task_calls_the_provider(world):
    run_id, dp_ids, make, _ = world
    ctx, provider = make()
    assert predict_datapoint(ctx, run_id, dp_ids[2], TaskState(), "h", recover=True).done
    assert provider["p"].calls == 1 and row(run_id, dp_ids[2]).status == "succeeded"


class DownStore(LocalStore):
    """A store that is unreachable until ``up`` is set."""

    up = False

    def put(self, key: str, data: bytes) -> str:
        if not self.up:
            raise ConnectionError("store unreachable")
        return super().put(key, data)


def test_an_answer_that_could_not_be_stored_is_carried_not_paid_again(world, tmp_path):
    run_id, dp_ids, make, _ = world
    ctx, provider = make()
    store = DownStore(tmp_path / "down")
    ctx = dataclasses.replace(ctx, store=store)
    state = TaskState()
    with pytest.raises(ConnectionError):  # the task re-schedules itself with its state (tasks.py)
        predict_datapoint(ctx, run_id, dp_ids[0], state, "h")
    first = provider["p"]
    assert first.calls == 1 and state.unsaved is not None
    carried = TaskState.from_dict(json.loads(json.dumps(state.to_dict())))  # through the broker
    store.up = True
    assert predict_datapoint(ctx, run_id, dp_ids[0], carried, "h").done
    p = row(run_id, dp_ids[0])
    assert provider["p"] is first and first.calls == 1  # no second call
    assert p.status == "succeeded" and carried.unsaved is None
    assert json.loads(store.get(p.raw_uri))["response"]["normalized"]["text"] == p.raw_output


def test_the_live_counters_follow_every_row_written_and_replaced(world):
    from labrun.shared.runs import progress

    run_id, dp_ids, make, _ = world
    ctx, _ = make([ProviderError("bad_request", "no"), ProviderError("auth", "no")])
    progress.seed(ctx.redis, run_id, progress.Progress())
    predict_datapoint(ctx, run_id, dp_ids[0], TaskState(), "h")  # a final error row
    predict_datapoint(ctx, run_id, dp_ids[1], TaskState(), "h")  # another
    ctx2, _ = make()
    predict_datapoint(ctx2, run_id, dp_ids[0], TaskState(), "h")  # the failed row replaced by an answer
    predict_datapoint(ctx2, run_id, dp_ids[2], TaskState(), "h")  # a new answer
    predict_datapoint(ctx2, run_id, dp_ids[2], TaskState(), "h")  # a duplicate: nothing written
    live = progress.read(ctx.redis, run_id)
    with session_scope() as s:
        rows = progress.from_rows(s, run_id)
    assert live is not None
    assert (live.done, live.ok, live.errors) == (rows.done, rows.ok, rows.errors) == (3, 2, {"auth": 1})
    assert live.cost_usd == pytest.approx(rows.cost_usd)
    # the first call started no later than the first row now kept (a replaced row started earlier)
    assert live.first <= rows.first and live.last == rows.last
    ctx.redis.delete(progress.key(run_id))  # lost (a Redis restart): not trusted
    ctx.redis.hincrby(progress.key(run_id), "done", 1)
    assert progress.read(ctx.redis, run_id) is None
