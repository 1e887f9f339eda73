"""The response cache in the predict loop, in-process (real Postgres, Redis and a local store; a
scripted provider): hits and misses, each mode, what is never cached, a hit's cost and raw
record, a hit that takes no limiter grant and no budget, and the rows' segmentation fields."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from labrun.shared.core.calls import ChatRequest
from labrun.shared.core.catalog import load_catalog
from labrun.shared.core.config import get_settings
from labrun.shared.core.failures import ProviderError
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.storage.db.models import Datapoint, Prediction
from labrun.shared.storage.db.session import Database, session_scope
from labrun.shared.storage.response_cache import cache_key, cache_object_key
from labrun.worker import cache_flight
from labrun.worker.cache import ResponseCache, endpoint_of
from labrun.worker.jobs import TaskState
from labrun.worker.predict import predict_datapoint
from labrun.worker.run_policy import prompt_hash
from tests.helpers import catalog_rows
from tests.integration.predict_world import Scripted, World, rows_of

pytestmark = pytest.mark.integration

SAME = ("status", "parsed", "correct", "raw_output", "details", "finish_reason", "prompt_tokens", "completion_tokens",
        "latency_ms", "response_model", "system_fingerprint", "input_chars", "prompt_hash")  # fmt: skip


@pytest.fixture
def world(settings_env, redis_conn, tmp_path):
    db = Database.from_settings(get_settings())
    from labrun.shared.storage.artifacts import LocalStore

    yield World(db, redis_conn, LocalStore(tmp_path / "store"))
    db.dispose()


def run_all(world: World, run_id: str, ids: list[int], script=()) -> None:
    ctx = world.ctx(script)
    for dp in ids:
        assert predict_datapoint(ctx, run_id, dp, TaskState(), "h").done
    return ctx


def cache_entries(world: World) -> list[str]:
    return list(world.store.keys("cache/"))


def test_a_second_run_is_answered_from_the_cache_at_no_cost(world):
    first, ids = world.run(cache="read-write")
    run_all(world, first, ids)
    assert len(world.calls) == 3 and len(cache_entries(world)) == 3
    second, _ = world.run(cache="read-write")
    ctx = run_all(world, second, ids)
    assert len(world.calls) == 3  # no call the second time
    assert ctx.limiter.grants == 0  # and no rate-limit grant
    a, b = rows_of(first), rows_of(second)
    for dp in ids:
        assert [getattr(b[dp], c) for c in SAME] == [getattr(a[dp], c) for c in SAME]
        assert (a[dp].cache_hit, b[dp].cache_hit) == (False, True)
        assert a[dp].cost_usd > 0 and b[dp].cost_usd == 0 and b[dp].cached_cost_usd == a[dp].cost_usd
        assert a[dp].cached_cost_usd is None and (a[dp].attempts, b[dp].attempts) == (1, 0)
        raw = json.loads(world.store.get(b[dp].raw_uri))  # this run's own raw record says where from
        assert raw["run_id"] == second and raw["cache"]["hit"] is True
        assert raw["cache"]["origin"]["run_id"] == first and raw["cache"]["uri"].endswith(".json")
        assert (
            raw["cache"]["key"] in raw["cache"]["uri"]
            and raw["response"]["normalized"]["text"] == b[dp].raw_output
        )


def test_the_default_mode_reads_and_writes_at_temperature_zero(world):
    first, ids = world.run()
    run_all(world, first, ids[:1])
    second, _ = world.run()
    run_all(world, second, ids[:1])
    assert len(world.calls) == 1 and rows_of(second)[ids[0]].cache_hit


def test_read_uses_entries_and_never_writes(world):
    run_id, ids = world.run(cache="read")
    run_all(world, run_id, ids[:1])
    assert len(world.calls) == 1 and cache_entries(world) == []  # a miss is not stored
    writer, _ = world.run(cache="read-write")
    run_all(world, writer, ids[1:2])
    reader, _ = world.run(cache="read")
    run_all(world, reader, ids[1:2])
    assert len(world.calls) == 2 and rows_of(reader)[ids[1]].cache_hit


def test_off_neither_reads_nor_writes(world):
    writer, ids = world.run(cache="read-write")
    run_all(world, writer, ids[:1])
    off, _ = world.run(cache="off")
    run_all(world, off, ids)
    assert len(world.calls) == 4 and len(cache_entries(world)) == 1
    assert not any(p.cache_hit for p in rows_of(off).values())


def test_refresh_always_calls_and_overwrites(world):
    writer, ids = world.run(cache="read-write")
    run_all(world, writer, ids[:1])
    refresh, _ = world.run(cache="refresh")
    run_all(world, refresh, ids[:1])
    assert len(world.calls) == 2 and not rows_of(refresh)[ids[0]].cache_hit
    (key,) = cache_entries(world)
    assert json.loads(world.store.get(key))["origin"]["run_id"] == refresh  # overwritten


@pytest.mark.parametrize(
    "step",
    [ProviderError("bad_request", "no", status_code=400), ProviderError("content_filter", "no", status_code=400),
     ProviderError("server_error", "boom", status_code=500), "length", "content_filter"],
)  # fmt: skip
def test_errors_and_cut_or_filtered_answers_are_never_cached(world, step):
    run_id, ids = world.run(cache="read-write")
    run_all(world, run_id, ids[:1], [step] * 5)
    assert rows_of(run_id)[ids[0]].status == "failed"
    assert cache_entries(world) == []
    again, _ = world.run(cache="read-write")
    run_all(world, again, ids[:1])  # called again, not answered from a cached failure
    assert rows_of(again)[ids[0]].status == "succeeded" and not rows_of(again)[ids[0]].cache_hit


def test_an_answer_that_does_not_parse_is_cached_and_judged_the_same(world):
    run_id, ids = world.run(cache="read-write")
    run_all(world, run_id, ids[:1], ["garbage"])
    again, _ = world.run(cache="read-write")
    run_all(world, again, ids[:1])
    a, b = rows_of(run_id)[ids[0]], rows_of(again)[ids[0]]
    assert len(world.calls) == 1 and b.cache_hit
    assert (a.status, a.error_type) == (b.status, b.error_type) == ("failed", "parse_error")


def test_a_hit_needs_no_budget(world):
    writer, ids = world.run(cache="read-write")
    run_all(world, writer, ids)
    # a cap far below one call: without the cache every datapoint would be skipped
    capped, _ = world.run(cache="read", max_cost_usd=1e-9)
    run_all(world, capped, ids)
    assert len(world.calls) == 3
    assert {p.status for p in rows_of(capped).values()} == {"succeeded"}


def test_a_recovered_cache_hit_stays_a_cache_hit(world):
    writer, ids = world.run()
    run_all(world, writer, ids[:1])
    reader, _ = world.run()
    run_all(world, reader, ids[:1])
    with session_scope() as s:  # a crash between the raw record and the row
        s.query(Prediction).filter_by(run_id=reader).delete()
    ctx = world.ctx([ProviderError("server_error", "must not be called")] * 5)
    assert predict_datapoint(ctx, reader, ids[0], TaskState(), "h2", recover=True).done
    p = rows_of(reader)[ids[0]]
    assert len(world.calls) == 1 and p.cache_hit and p.cost_usd == 0 and p.cached_cost_usd > 0


def test_rows_carry_the_segmentation_fields(world):
    run_id, ids = world.run(cache="off")
    run_all(world, run_id, ids)
    other, _ = world.run(cache="off", prompt={"system": "Pick the best category. Say only its path."})
    run_all(world, other, ids[:1])
    rows = rows_of(run_id)
    with session_scope() as s:
        from labrun.shared.storage.db.models import Run

        config = s.get(Run, run_id).config
    assert {p.prompt_hash for p in rows.values()} == {prompt_hash(config["prompt"])}
    assert rows_of(other)[ids[0]].prompt_hash not in {None, rows[ids[0]].prompt_hash}  # another variant
    for p in rows.values():
        assert p.input_chars == sum(len(m["content"]) for m in p.request["messages"]) > 0
        assert p.system_fingerprint == "fp_scripted" and p.cache_hit is False


def test_the_key_is_provider_endpoint_and_request_never_the_api_key(monkeypatch, settings_env):
    from labrun.worker.providers.openai_provider import OpenAIProvider

    spec = load_catalog().get("gpt4o_mini")
    request = ChatRequest.chat(spec.model, "system", "user", 64)
    keys = set()
    for key in ("sk-one", "sk-two"):
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", "http://user:secret@127.0.0.1:9/v1/")
        provider = OpenAIProvider(spec, timeout=1)
        assert endpoint_of(provider) == "http://127.0.0.1:9/v1"  # credentials in the URL are dropped
        keys.add(cache_key(spec.provider, endpoint_of(provider), request.as_dict()))
        provider.close()
    assert len(keys) == 1  # the API key is not part of it
    (key,) = keys
    assert cache_object_key(key) == f"cache/{key[:2]}/{key}.json"
    local = "http://127.0.0.1:9/v1"

    def variant(max_tokens: int = 64, **params) -> str:
        return cache_key(
            "openai", local, ChatRequest.chat(spec.model, "system", "user", max_tokens, **params).as_dict()
        )

    other = {
        cache_key("anthropic", local, request.as_dict()),
        cache_key("openai", "https://api.openai.com/v1", request.as_dict()),
        variant(seed=1),
        variant(65),
        variant(temperature=0.5),
    }
    assert key not in other and len(other) == 5


def test_an_identical_request_in_flight_is_waited_for_not_paid_twice(world):
    """Two datapoints ask the same thing (the same product twice): while the first one's call is
    in flight, the second is not called; it comes back later and is a hit, with the first's
    latency and answer (as in any later run)."""
    rows = catalog_rows(n=2)
    rows[1] = {**rows[0], "id": f"{rows[0]['id']}-again"}
    with session_scope() as s:
        run = create_run(s, RunCreate(model="fake", rows=rows, cache="read-write"))
        lifecycle.start(s, run.id)
        run_id = run.id
        order = (
            select(Datapoint.id).where(Datapoint.dataset_id == run.dataset_id).order_by(Datapoint.position)
        )
        ids = list(s.scalars(order))
    ctx = world.ctx()
    meanwhile: list = []
    first = Scripted(load_catalog().get("fake"), [], world.calls)
    inner = first.complete

    def complete(request):  # another worker takes the duplicate while this call is in flight
        meanwhile.append(predict_datapoint(ctx, run_id, ids[1], TaskState(), "h2"))
        return inner(request)

    first.complete = complete
    ctx.make_provider = lambda spec, settings: first
    assert predict_datapoint(ctx, run_id, ids[0], TaskState(), "h1").done
    (waited,) = meanwhile
    assert not waited.done and cache_flight.WAIT_S <= waited.delay_s <= 2 * cache_flight.WAIT_S
    assert len(world.calls) == 1 and ids[1] not in rows_of(run_id)
    assert world.redis.keys(f"{cache_flight.PREFIX}*") == []  # the claim is dropped with the call
    assert predict_datapoint(ctx, run_id, ids[1], TaskState(), "h2").done  # it comes back: a hit
    assert len(world.calls) == 1
    got = rows_of(run_id)
    assert got[ids[1]].cache_hit and not got[ids[0]].cache_hit
    assert [getattr(got[ids[1]], c) for c in SAME] == [getattr(got[ids[0]], c) for c in SAME]


def test_a_claim_is_taken_only_when_the_mode_reads_and_writes_and_lapses(world):
    cache = ResponseCache(world.store, "read-write", "k" * 64, "e", load_catalog().get("fake"), {})
    flight = cache_flight.take_off(world.redis, cache, lease_s=0.2)
    assert flight is not None and flight.key is not None
    assert cache_flight.take_off(world.redis, cache, lease_s=0.2) is None  # held
    for mode in ("read", "refresh"):  # never waits: it would not use the answer, or not store it
        other = cache_flight.take_off(world.redis, replace(cache, mode=mode), lease_s=0.2)
        assert other is not None and other.key is None
    time.sleep(0.3)  # a dead worker's claim lapses with its lease
    again = cache_flight.take_off(world.redis, cache, lease_s=5)
    assert again is not None
    flight.land()  # the lapsed claim's owner does not drop the new one
    assert cache_flight.take_off(world.redis, cache, lease_s=5) is None
    again.land()
    assert cache_flight.take_off(world.redis, cache, lease_s=5) is not None
