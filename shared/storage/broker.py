"""The Celery application config shared by the API (which enqueues by task name) and the workers.

Task names and queues are explicit and dotted. Messages are JSON only. Tasks are acked late and
rejected (re-delivered) if the worker process dies mid-task.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

TASK_DISPATCH = "labrun.dispatch"
TASK_PREDICT = "labrun.predict"
TASK_FINALIZE = "labrun.finalize"
TASK_RETRY = "labrun.retry"
QUEUE_PREDICT = "labrun.predict"
QUEUE_CONTROL = "labrun.control"
VISIBILITY_TIMEOUT_S = 3600
# kombu's Redis transport keeps every delivered, not yet acked message here (delivery tag -> message)
UNACKED_KEY = "unacked"


def redis_url() -> str:
    from labrun.shared.core.config import get_settings

    settings = get_settings()
    if settings.redis_url:
        return settings.redis_url
    from labrun.shared.storage import embedded

    return embedded.resolve(settings).redis_url


class LabrunCelery(Celery):  # type: ignore[misc]
    """Celery whose Redis result backend counts chord parts in a bitmap (chord_backend.py)."""

    def _get_backend(self) -> Any:
        from celery.app import backends
        from celery.backends.redis import RedisBackend

        from labrun.shared.storage.chord_backend import BitmapChordBackend

        cls, url = backends.by_url(self.backend_cls or self.conf.result_backend, self.loader)
        if cls is RedisBackend:
            cls = BitmapChordBackend
        return cls(app=self, url=url)


def make_celery(main: str = "labrun") -> Celery:
    url = redis_url()
    app = LabrunCelery(main, broker=url, backend=url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_default_queue=QUEUE_CONTROL,
        task_routes={
            TASK_PREDICT: {"queue": QUEUE_PREDICT},
            TASK_DISPATCH: {"queue": QUEUE_CONTROL},
            TASK_FINALIZE: {"queue": QUEUE_CONTROL},
            TASK_RETRY: {"queue": QUEUE_CONTROL},
        },
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        result_expires=7 * 24 * 3600,
        # Task events cost a Redis publish per state change; Flower turns them on when it runs.
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


@lru_cache(maxsize=1)
def client_app() -> Celery:
    """The app used by producers (API, CLI) to send tasks by name."""
    return make_celery("labrun-client")
