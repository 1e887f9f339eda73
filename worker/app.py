"""The worker's Celery app. Start it with ``labrun worker`` (threads pool, many calls in flight)."""

from __future__ import annotations

from celery.signals import worker_process_init

from shared.queue import make_celery

app = make_celery("labrun-worker")
app.conf.update(
    # I/O-bound tasks: a thread pool keeps many provider calls in flight per process.
    worker_prefetch_multiplier=1,
    include=["worker.tasks"],
)


@worker_process_init.connect
def _fresh_clients(**_: object) -> None:
    """Clients are built once per worker process, never shared across a fork."""
    from worker import clients

    clients.reset()
