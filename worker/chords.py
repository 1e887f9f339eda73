"""A run's chord, set up once and published in pipelined batches, all at once or window by window.

``chord(header)(body)`` publishes its header one message at a time. This module sets the chord up
the way ``celery.canvas._chord.run`` does for a flat header on the Redis result backend, with the
public ``freeze`` API: the body frozen under a group id, the chord size stored before any header
message leaves (so no header task can complete the chord early). The header tasks are then
published through kombu's ``Producer.batch()`` (one pipelined round trip per ``PUBLISH_BATCH``),
either at once (:func:`publish_chord`) or a window at a time by the releaser (worker/release.py),
which needs only the group id and the body to build the next header messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import redis
from celery import Celery, group
from celery.canvas import Signature
from celery.utils import uuid

from labrun.shared.storage.chord_backend import parts_reported

PUBLISH_BATCH = 500  # Redis commands per pipeline round trip


def setup_chord(app: Celery, size: int, body: Signature) -> str:
    """Freeze ``body`` under a new group id and store the chord's size; returns the group id."""
    group_id = uuid()
    body.freeze(group_id=group_id)
    app.backend.apply_chord((group_id, []), body)
    app.backend.set_chord_size(group_id, size)
    return group_id


def publish_header(
    app: Celery, header: Iterable[tuple[int, Signature]], group_id: str, body: Signature
) -> int:
    """Publish header tasks ``(index, signature)`` of the chord ``group_id``; returns how many."""
    n = 0
    with app.producer_or_acquire() as producer, producer.batch(max_size=PUBLISH_BATCH):
        for index, sig in header:
            sig.freeze(group_id=group_id, chord=body, group_index=index)
            # retry=False: inside a batch a publish only buffers; a failed flush raises
            # BatchPublishError and the caller sends again (predict skips finished datapoints).
            readable = "run={} datapoint={}".format(*sig.args[:2]) if len(sig.args) >= 2 else None
            sig.apply_async(producer=producer, add_to_parent=False, retry=False, argsrepr=readable)
            n += 1
    return n


def publish_chord(app: Celery, header: Sequence[Signature], body: Signature) -> str:
    """Send ``header`` as a chord closed by ``body`` at once; returns the body's task id."""
    if not header:
        return str(body.apply_async().id)
    tasks = group(list(header), app=app)
    group_id = setup_chord(app, len(tasks.tasks), body)
    publish_header(app, enumerate(tasks.tasks), group_id, body)
    return str(body.id)


def parts_returned(client: redis.Redis, app: Celery, group_id: str) -> int:
    """Header tasks of the chord that have reported (the bitmap of chord_backend.py)."""
    return parts_reported(client, app.backend, group_id)


def cut_chord(app: Celery, client: redis.Redis, group_id: str | None, released: int) -> bool:
    """Cut a chord down to its first ``released`` header tasks (a cancelled run). True when some of
    them have yet to report, so the last to report fires the body; False when the caller must
    send the body itself."""
    if not group_id or released <= 0:
        return False
    app.backend.set_chord_size(group_id, released)  # type: ignore[attr-defined]
    return parts_returned(client, app, group_id) < released
