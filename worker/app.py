"""The worker's Celery app. Start it with ``labrun worker`` (threads pool, many calls in flight)."""

from __future__ import annotations

import logging

from celery.signals import after_setup_logger, worker_process_init

from shared.db import session as db_session
from shared.queue import make_celery

db_session.skip_pre_ping_by_default()
app = make_celery("labrun-worker")
app.conf.update(
    # I/O-bound tasks: a thread pool keeps many provider calls in flight per process.
    worker_prefetch_multiplier=1,
    include=["worker.tasks"],
)

# Celery logs every task received and every task finished at INFO: two lines per datapoint, which
# is noise at 100,000 datapoints and CPU taken from the calls. Errors are still logged; --loglevel
# DEBUG brings the per-task lines back.
PER_TASK_LOGGERS = ("celery.app.trace", "celery.worker.strategy")


@after_setup_logger.connect
def _quiet_per_task_logs(loglevel: int | str = logging.INFO, **_: object) -> None:
    level = logging.getLevelName(loglevel) if isinstance(loglevel, str) else loglevel
    if isinstance(level, int) and level > logging.DEBUG:
        for name in PER_TASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


@worker_process_init.connect
def _fresh_clients(**_: object) -> None:
    """Clients are built once per worker process, never shared across a fork."""
    from worker import clients

    clients.reset()
