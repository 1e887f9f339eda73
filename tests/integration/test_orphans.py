"""The reaper's second net against a real (private) Redis: an unacked message that no worker holds
for a minute is an orphan; a held one, a fresh one or one acked meanwhile is not."""

from __future__ import annotations

import time

import pytest
import redis

from labrun.shared.storage.broker import UNACKED_KEY as UNACKED
from labrun.worker.orphans import UNACKED_INDEX_KEY, orphaned_tags
from tests.services import PrivateRedis

pytestmark = pytest.mark.integration


@pytest.fixture
def client(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield redis.Redis(port=server.port)
    server.stop()


def taken(client: redis.Redis, tag: str, age_s: float) -> None:
    """What kombu's QoS.append writes when a worker takes a message ``age_s`` ago."""
    client.zadd(UNACKED_INDEX_KEY, {tag: time.time() - age_s})
    client.hset(UNACKED, tag, b'[{"body": "..."}, "labrun.predict", "labrun.predict"]')


def test_only_old_unheld_still_unacked_messages_are_orphans(client):
    taken(client, "orphan", 120)
    taken(client, "held-by-live", 120)
    taken(client, "held-by-reaping", 120)
    taken(client, "fresh", 5)
    client.sadd("labrun:held:host:1:abc", "held-by-live")
    client.sadd("labrun:held:host:2:def:reaping:1234", "held-by-reaping")
    client.zadd(UNACKED_INDEX_KEY, {"acked-meanwhile": time.time() - 120})  # index only: acked
    assert orphaned_tags(client) == ["orphan"]  # unheld for 120 s; "fresh" only 5 s
    assert sorted(orphaned_tags(client, older_than_s=1)) == ["fresh", "orphan"]


def test_no_unacked_messages_no_orphans(client):
    assert orphaned_tags(client) == []
