"""Benchmark: how long does ``labrun.dispatch`` take to enqueue one run's chord, and how much
memory does it need? (Not a test.) Sends a chord of N ``labrun.predict`` signatures to a scratch
Redis database with no worker, inside a worker-like context, and reports seconds, messages/s and
the peak Python allocation (tracemalloc), as the median of --repeat runs.

    .venv/bin/python scripts/bench_dispatch.py --redis redis://127.0.0.1:6379/12 --n 10000 100000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import tracemalloc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="a scratch Redis database (flushed)")
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ["LABRUN_REDIS_URL"] = args.redis

    import redis
    from celery._state import _set_task_join_will_block

    from labrun.worker.app import app
    from labrun.worker.dispatch import send_chord

    _set_task_join_will_block(True)  # as inside a worker: no result subscriptions
    r = redis.Redis.from_url(args.redis)
    print(f"{'n':>8} {'seconds':>8} {'msgs/s':>8} {'peak MB':>8}   (median of {args.repeat})")
    for n in args.n:
        secs, peaks = [], []
        for _ in range(args.repeat):
            r.flushdb()
            t = time.perf_counter()
            send_chord(app, "bench-dispatch", range(n))
            secs.append(time.perf_counter() - t)
            assert r.llen("labrun.predict") == n
        # Memory in a separate pass: tracemalloc slows allocation-heavy code several-fold.
        r.flushdb()
        tracemalloc.start()
        send_chord(app, "bench-dispatch", range(n))
        peaks.append(tracemalloc.get_traced_memory()[1] / 1e6)
        tracemalloc.stop()
        s = statistics.median(secs)
        print(f"{n:>8} {s:>8.1f} {n / s:>8.0f} {statistics.median(peaks):>8.0f}")
    r.flushdb()


if __name__ == "__main__":
    main()
