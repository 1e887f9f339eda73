"""The worker's Celery app. Start it with ``labrun worker`` (threads pool, many calls in flight)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import (
    after_setup_logger,
    task_postrun,
    task_prerun,
    task_received,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from labrun.shared.storage.broker import make_celery

app = make_celery("labrun-worker")
app.conf.update(
    # I/O-bound tasks: a thread pool keeps many provider calls in flight per process.
    worker_prefetch_multiplier=1,
    include=["labrun.worker.tasks"],
)

# Celery logs every task received and every task finished at INFO, and httpx every request: three
# lines per datapoint, which is noise at 100,000 datapoints and CPU taken from the calls. Errors are
# still logged; --loglevel DEBUG brings the per-task lines back.
PER_TASK_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "httpx", "httpcore")


@after_setup_logger.connect
def _quiet_per_task_logs(
    logger: logging.Logger | None = None, loglevel: int | str = logging.INFO, **_: object
) -> None:
    from labrun.shared.core.config import get_settings
    from labrun.worker import logs

    level = logging.getLevelName(loglevel) if isinstance(loglevel, str) else loglevel
    if isinstance(level, int) and level > logging.DEBUG:
        for name in PER_TASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    if logger is not None:  # every line names its run and datapoint; JSON lines on request
        logs.install(logger, get_settings().log_format)


@task_prerun.connect
def _task_context(args: Any = None, **_: object) -> None:
    from labrun.worker import logs

    logs.enter(args)


@task_postrun.connect
def _task_context_end(**_: object) -> None:
    from labrun.worker import logs

    logs.leave()


@worker_process_init.connect
def _fresh_clients(**_: object) -> None:
    """The worker context is built once per worker process, never shared across a fork."""
    from labrun.worker import context

    context.reset()


# --- liveness: heartbeats and the reaper of dead workers' messages (worker/liveness.py) ---------
_liveness: Any = None
_releaser: Any = None
_helper: Any = None


def restore_messages(tags: list[str]) -> None:
    """Give messages back to the front of their queues, through kombu's own restore."""
    with app.connection_for_write() as conn:
        qos = conn.default_channel.qos
        for tag in tags:
            qos.restore_by_tag(tag)


def sweep_once() -> object:
    """One sweeper pass (worker/sweeper.py), enqueueing through this app."""
    from labrun.shared.storage.broker import TASK_DISPATCH, TASK_FINALIZE
    from labrun.worker import context, sweeper
    from labrun.worker.dispatch import datapoint_ids, send_chord

    ctx = context.current()

    def missing(run_id: str) -> int:
        ids = datapoint_ids(ctx, run_id, only_missing=True)
        send_chord(app, run_id, ids, recover=True)
        return len(ids)

    senders = sweeper.Senders(
        dispatch=lambda run_id: app.send_task(TASK_DISPATCH, args=[run_id]) and None,
        finalize=lambda run_id: app.send_task(TASK_FINALIZE, args=[run_id]) and None,
        missing=missing,
    )
    return sweeper.sweep(ctx, senders)


@worker_init.connect
def _start_liveness(sender: Any = None, **_: object) -> None:
    """The liveness thread (heartbeat, reaper, sweeper), before the consumer takes any message:
    every message this worker takes is recorded as held (a message taken before would be restored
    as an orphan while it still runs)."""
    global _liveness
    from labrun.worker import context, liveness

    ctx = context.current()
    concurrency = getattr(sender, "concurrency", None) or ctx.settings.worker_concurrency
    _liveness = liveness.Liveness(
        ctx.redis, restore_messages, sweep_once, ctx.settings.sweep_interval_s, int(concurrency)
    )
    _liveness.start()


@worker_ready.connect
def _start_releaser(**_: object) -> None:
    """The releaser of windowed runs (worker/release.py), the helper that answers warm runs from
    the cache with the dispatching worker (worker/cache_helper.py), and the metrics endpoint."""
    global _releaser, _helper
    from labrun.worker import cache_helper, context, release_loop

    ctx = context.current()
    _releaser = release_loop.Releaser(ctx, app)
    _releaser.start()
    if _liveness is not None:
        _helper = cache_helper.Helper(ctx, _liveness.instance)
        _helper.start()
    from labrun.worker import telemetry

    telemetry.serve(ctx.settings.worker_metrics_port, ctx.redis)


@worker_shutdown.connect
def _stop_background(**_: object) -> None:
    if _releaser is not None:
        _releaser.stop()
    if _helper is not None:
        _helper.stop()
    if _liveness is not None:
        _liveness.stop()


@task_received.connect
def _hold(request: Any = None, **_: object) -> None:
    from labrun.worker import liveness

    if _liveness is not None and (tag := liveness.delivery_tag(request)):
        liveness.hold(_liveness.client, _liveness.instance, tag)
