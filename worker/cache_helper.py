"""Each worker process listens for calls to help answer a warm run from the cache (D37).

Dispatch pushes the run id on the list of every live worker (``labrun:prefill-call:<instance>``,
the instance of worker/liveness.py), its own included: a worker that is answering the run already
skips the call. A Celery task for the same purpose could be taken by the dispatching worker
itself (both consume the control queue), where it would only compete for the same core.
"""

from __future__ import annotations

import logging
import socket
import threading

from labrun.worker.cache_share import call_key, help_answer
from labrun.worker.context import WorkerContext

log = logging.getLogger(__name__)
WAIT_S = 1  # BLPOP's timeout: how soon a stopping worker's helper notices


class Helper:
    """The listening thread of one worker process (a daemon); one call at a time."""

    def __init__(self, ctx: WorkerContext, instance: str, hostname: str | None = None) -> None:
        self.ctx, self.key = ctx, call_key(instance)
        self.hostname = hostname or socket.gethostname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="labrun-cache-helper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.serve_one(WAIT_S)
            except Exception:  # Redis or Postgres away: the dispatching worker answers alone
                log.exception("cache helper: a call failed")
                self._stop.wait(5.0)

    def serve_one(self, wait_s: float) -> int:
        """Wait up to ``wait_s`` for a call and answer it; how many datapoints this answered."""
        popped = self.ctx.redis.blpop([self.key], timeout=wait_s)
        if not popped:
            return 0
        run_id = popped[1].decode() if isinstance(popped[1], bytes) else str(popped[1])  # type: ignore[index]
        return help_answer(self.ctx, run_id, self.hostname)
