"""A Celery app with one no-op task, configured like labrun's worker (``make_celery``'s broker
settings: JSON, acks_late, reject on worker lost; prefetch multiplier 1), for the CPU floor of a
Celery worker per task (scripts/bench_worker_cpu.py). Start a worker with, from scripts/:

    celery -A bench.noop_app worker --pool threads --concurrency 100 --queues bench.noop \
        --without-gossip --without-mingle --loglevel WARNING
"""

from __future__ import annotations

from labrun.shared.storage.broker import make_celery

TASK = "bench.noop"
QUEUE = "bench.noop"

app = make_celery("bench-noop")
app.conf.update(worker_prefetch_multiplier=1, task_routes={TASK: {"queue": QUEUE}})


@app.task(name=TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def noop(i: int) -> None:
    return None
