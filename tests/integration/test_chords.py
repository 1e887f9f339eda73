"""Publishing a chord in pipelined batches (worker/chords.py), checked message by message in Redis.
That the chord then completes and runs its body is shown end to end in tests/e2e/test_pipeline.py."""

import base64
import json
import uuid

import pytest

from labrun.worker.chords import PUBLISH_BATCH, publish_chord

pytestmark = pytest.mark.integration


@pytest.fixture
def app(settings_env):
    from labrun.shared.storage.broker import make_celery

    app = make_celery("test-chords")
    queue = f"test-chords-{uuid.uuid4().hex[:8]}"
    app.conf.task_routes = {"t.part": {"queue": queue}, "t.body": {"queue": queue + "-body"}}
    yield app, queue
    app.close()


def test_header_is_published_in_batches_with_the_chord_set_up(app, redis_conn):
    app, queue = app
    n = 2 * PUBLISH_BATCH + 7  # more than one pipeline flush
    header = [app.signature("t.part", args=(i,), ignore_result=True) for i in range(n)]
    body = app.signature("t.body", args=("run-1",), immutable=True)
    body_id = publish_chord(app, header, body)

    raw = redis_conn.lrange(queue, 0, -1)
    assert len(raw) == n
    assert redis_conn.llen(queue + "-body") == 0  # the body runs when the header is done, not now
    messages = [json.loads(m) for m in raw]
    headers = [m["headers"] for m in messages]
    group_ids = {h["group"] for h in headers}
    assert len(group_ids) == 1
    group_id = group_ids.pop()
    assert sorted(h["group_index"] for h in headers) == list(range(n))
    assert len({h["id"] for h in headers}) == n
    assert all(h["ignore_result"] for h in headers)
    args, _kwargs, embed = json.loads(base64.b64decode(messages[0]["body"]))
    assert embed["chord"]["task"] == "t.body"
    assert embed["chord"]["options"]["task_id"] == body_id
    assert embed["chord"]["args"] == ["run-1"]
    # the chord's size is stored before any part is published, so no part can close it early
    assert int(redis_conn.get(app.backend.get_key_for_group(group_id, ".s"))) == n


def test_empty_header_sends_the_body_straight_away(app, redis_conn):
    app, queue = app
    publish_chord(app, [], app.signature("t.body", args=("run-2",), immutable=True))
    assert redis_conn.llen(queue) == 0
    assert redis_conn.llen(queue + "-body") == 1


def test_parts_are_bits_a_second_report_counts_once_and_the_last_part_sends_the_body_once(app, redis_conn):
    """The chord backend (shared/storage/chord_backend.py) driven as a worker drives it: each header
    task reports once it ran; its bookkeeping is one bit per part, and the body leaves once."""
    from celery.app.task import Context

    from labrun.shared.storage.chord_backend import parts_key, parts_reported

    app, queue = app
    n = 1000
    header = [app.signature("t.part", args=(i,), ignore_result=True) for i in range(n)]
    publish_chord(app, header, app.signature("t.body", args=("run-3",), immutable=True))
    messages = [json.loads(m) for m in redis_conn.lrange(queue, 0, -1)]
    group = messages[0]["headers"]["group"]

    def report(message: dict) -> None:
        h, embed = message["headers"], json.loads(base64.b64decode(message["body"]))[2]
        request = Context(id=h["id"], group=h["group"], group_index=h["group_index"], chord=embed["chord"])
        app.backend.on_chord_part_return(request, "SUCCESS", None)

    for m in messages[:-1]:
        report(m)
    report(messages[0])  # a second delivery of a part that reported already
    assert parts_reported(redis_conn, app.backend, group) == n - 1
    assert redis_conn.strlen(parts_key(app.backend, group)) <= n // 8 + 1  # bits, not entries
    assert not redis_conn.exists(app.backend.get_key_for_group(group, ".j"))
    assert redis_conn.llen(queue + "-body") == 0
    report(messages[-1])
    assert redis_conn.llen(queue + "-body") == 1  # the last part sent the body
    body = json.loads(redis_conn.lindex(queue + "-body", 0))
    assert json.loads(base64.b64decode(body["body"]))[0] == ["run-3"]  # immutable: no results passed
    report(messages[-1])  # a late duplicate after the chord completed
    assert redis_conn.llen(queue + "-body") == 1
    assert not redis_conn.exists(parts_key(app.backend, group))  # cleaned up
