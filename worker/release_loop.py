"""The releaser's loop: a daemon thread per worker process; only the lock holder releases."""

from __future__ import annotations

import logging
import threading

from celery import Celery

from labrun.worker.context import WorkerContext
from labrun.worker.release import TICK_S, tick

log = logging.getLogger(__name__)


class Releaser:
    """The release loop of one worker process (a daemon thread); only the lock holder releases."""

    def __init__(self, ctx: WorkerContext, app: Celery) -> None:
        self.ctx, self.app = ctx, app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labrun-releaser", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                tick(self.ctx, self.app)
            except Exception:  # Redis or Postgres away: try again next tick
                log.exception("releaser: tick failed")
                self._stop.wait(5.0)
