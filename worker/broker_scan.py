"""Which runs have messages in the broker: queued (the queues' lists) or taken by a worker (kombu's
``unacked`` hash, which holds every message delivered and not yet acked). Used by the sweeper to
tell a stalled run from one that is waiting its turn."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from labrun.shared.storage.broker import (
    QUEUE_CONTROL,
    QUEUE_PREDICT,
    TASK_DISPATCH,
    TASK_FINALIZE,
    TASK_PREDICT,
    UNACKED_KEY,
)

RUN_TASKS = frozenset({TASK_DISPATCH, TASK_PREDICT, TASK_FINALIZE})
CHUNK = 1000


def run_of(message: Any) -> str | None:
    """The run id of a labrun task message as kombu stores it in Redis (None for anything else)."""
    try:
        msg = json.loads(message)
        if isinstance(msg, list):  # an unacked entry: [message, exchange, routing_key]
            msg = msg[0]
        if (msg.get("headers") or {}).get("task") not in RUN_TASKS:
            return None
        body = msg["body"]
        if (msg.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        return str(json.loads(body)[0][0])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def runs_with_messages(client: redis.Redis, wanted: set[str]) -> set[str]:
    """Those of ``wanted`` with at least one message queued or taken; scans newest first and stops
    as soon as every wanted run is found."""
    found: set[str] = set()
    if not wanted:
        return found
    for _, value in client.hscan_iter(UNACKED_KEY, count=CHUNK):
        if (run := run_of(value)) in wanted:
            found.add(run)  # type: ignore[arg-type]
            if found == wanted:
                return found
    for queue in (QUEUE_PREDICT, QUEUE_CONTROL):
        start = 0
        while chunk := client.lrange(queue, start, start + CHUNK - 1):  # index 0 is the newest
            for item in chunk:  # type: ignore[union-attr]
                if (run := run_of(item)) in wanted:
                    found.add(run)  # type: ignore[arg-type]
                    if found == wanted:
                        return found
            start += CHUNK
    return found
