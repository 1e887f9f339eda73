"""Worker liveness: a heartbeat per worker process, the broker messages each one holds, and a
reaper that gives a dead worker's messages back to their queue within seconds.

With the Redis broker, a message a worker has taken (running, prefetched, or waiting for its
countdown) stays "unacked" until that worker acks it; if the worker dies (SIGKILL, OOM, a lost
host), Redis gives it back only after the visibility timeout (an hour: shorter would redeliver
long countdowns and running tasks twice). So every worker process:

- names itself (``host:pid:random``) and refreshes ``labrun:live:<instance>`` every
  :data:`HEARTBEAT_S` with a :data:`TTL_S` expiry;
- records the delivery tag of every message it receives in ``labrun:held:<instance>``, and at
  each heartbeat drops the tags kombu no longer has unacked (acked: done);
- at every heartbeat, and at its start, looks for instances whose heartbeat has expired and
  restores their held messages to the front of their queues (kombu's own ``restore_by_tag``,
  atomic per message, so two reapers cannot restore one message twice).

A dead worker's datapoints therefore run again within about TTL_S + HEARTBEAT_S when another worker is
alive, and when the next worker starts otherwise. Redelivered tasks look for a stored answer
before calling the provider (worker/recover.py).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from labrun.shared.storage.broker import UNACKED_KEY
from labrun.worker.orphans import orphaned_tags

log = logging.getLogger(__name__)
HEARTBEAT_S = 5.0
TTL_S = 15.0
INSTANCES = "labrun:instances"


def live_key(instance: str) -> str:
    return f"labrun:live:{instance}"


def held_key(instance: str) -> str:
    return f"labrun:held:{instance}"


def new_instance() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def beat(client: redis.Redis, instance: str, concurrency: int = 1) -> None:
    """The heartbeat; its value is the worker's concurrency (the releaser sizes the queue by it)."""
    pipe = client.pipeline(transaction=False)
    pipe.sadd(INSTANCES, instance)
    pipe.set(live_key(instance), str(concurrency), px=int(TTL_S * 1000))
    pipe.execute()


def _live(client: redis.Redis) -> dict[str, int]:
    """Live instances and their concurrency."""
    names = [m.decode() if isinstance(m, bytes) else str(m) for m in client.smembers(INSTANCES)]  # type: ignore[union-attr]
    values = client.mget([live_key(n) for n in names]) if names else []
    return {n: int(v) for n, v in zip(names, values, strict=True) if v and v.isdigit()}  # type: ignore[union-attr]


def live_concurrency(client: redis.Redis) -> int:
    """Calls in flight the live workers can hold, together."""
    return sum(_live(client).values())


def live_instances(client: redis.Redis) -> list[str]:
    """The workers whose heartbeat has not expired."""
    return sorted(_live(client))


def hold(client: redis.Redis, instance: str, tag: str) -> None:
    client.sadd(held_key(instance), tag)


def prune(client: redis.Redis, instance: str) -> int:
    """Forget the held tags that kombu no longer has unacked (acked since). A tag is dropped only
    once the ack has happened, not when the task ends: a worker killed between the end of a task
    and its ack still has that message restored. Returns how many were dropped."""
    tags = [t.decode() if isinstance(t, bytes) else str(t) for t in client.smembers(held_key(instance))]  # type: ignore[union-attr]
    if not tags:
        return 0
    present = client.hmget(UNACKED_KEY, tags)
    gone = [tag for tag, value in zip(tags, present, strict=True) if value is None]  # type: ignore[arg-type]
    if gone:
        client.srem(held_key(instance), *gone)
    return len(gone)


def reap(client: redis.Redis, restore: Callable[[list[str]], None]) -> dict[str, int]:
    """Restore the held messages of every instance whose heartbeat expired; returns
    ``{instance: messages restored}``."""
    done: dict[str, int] = {}
    for raw in client.smembers(INSTANCES):  # type: ignore[union-attr]
        instance = raw.decode() if isinstance(raw, bytes) else str(raw)
        if client.exists(live_key(instance)):
            continue
        claimed = f"{held_key(instance)}:reaping:{secrets.token_hex(4)}"
        try:
            client.rename(held_key(instance), claimed)  # one reaper takes the set
        except redis.ResponseError:  # no held messages (or another reaper took them)
            client.srem(INSTANCES, instance)
            continue
        tags = [t.decode() if isinstance(t, bytes) else str(t) for t in client.smembers(claimed)]  # type: ignore[union-attr]
        restore(tags)
        client.delete(claimed)
        client.srem(INSTANCES, instance)
        done[instance] = len(tags)
    return done


class Liveness:
    """The heartbeat, reaper and sweeper thread of one worker process."""

    def __init__(
        self,
        client: redis.Redis,
        restore: Callable[[list[str]], None],
        sweep: Callable[[], object] | None = None,
        sweep_every_s: float = 30.0,
        concurrency: int = 1,
    ) -> None:
        self.client, self.restore, self.sweep, self.sweep_every_s = client, restore, sweep, sweep_every_s
        self.concurrency = concurrency
        self.instance = new_instance()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labrun-liveness", daemon=True)

    def start(self) -> None:
        beat(self.client, self.instance, self.concurrency)
        self._thread.start()

    def stop(self) -> None:
        """Graceful shutdown: kombu returns this worker's unacked messages when it closes its
        channel; the instance just leaves."""
        self._stop.set()
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(live_key(self.instance), held_key(self.instance))
        pipe.srem(INSTANCES, self.instance)
        pipe.execute()

    def _run(self) -> None:
        wait, next_sweep = 0.0, time.monotonic() + self.sweep_every_s
        while not self._stop.wait(wait):  # reap at once at start: a dead worker may have left messages
            wait = HEARTBEAT_S
            try:
                beat(self.client, self.instance, self.concurrency)
                prune(self.client, self.instance)
                for instance, n in reap(self.client, self.restore).items():
                    log.warning("restored %d messages held by dead worker %s", n, instance)
                if orphans := orphaned_tags(self.client):
                    self.restore(orphans)
                    log.warning("restored %d unacked messages that no live worker holds", len(orphans))
                if self.sweep is not None and time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.sweep_every_s
                    self.sweep()
            except Exception:  # a Redis or Postgres hiccup must not end the thread
                log.exception("liveness: heartbeat, reap or sweep failed; retrying")


def delivery_tag(request: Any) -> str | None:
    """The broker's delivery tag of a received message or a running task's request."""
    message = getattr(request, "message", None)
    if message is not None and getattr(message, "delivery_tag", None):
        return str(message.delivery_tag)
    props = getattr(request, "properties", None) or {}
    tag = props.get("delivery_tag")
    return str(tag) if tag else None
