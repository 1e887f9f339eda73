#!/usr/bin/env python
"""Benchmark (not a test): a labrun worker's CPU per datapoint against Celery's own floor.

- floor: one Celery worker of labrun's configuration (threads pool, --concurrency, prefetch
  multiplier 1, acks_late, JSON; scripts/bench/noop_app.py) runs N no-op tasks published to it;
- labrun: one ``labrun worker`` of the same concurrency runs a ``fake``-model run (in-process,
  0 latency, no rate limit) of N datapoints submitted through ``POST /runs``.

Each measurement is the worker process's user+sys CPU (/proc) from just before the first message
is published (floor) or the run submitted (labrun) until the queue is drained (floor: no message
queued or unacked) or the run is final (labrun), divided by N. Each repeat starts fresh processes
and warms them up first (--warmup tasks / datapoints). Floor and labrun alternate.

    .venv/bin/python scripts/bench_worker_cpu.py --source a.csv --n 5000 --repeat 3 \
        --json docs/bench-results/2026-12-01-worker-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import redis  # noqa: E402
from bench import bigcsv, labstack, measure, procs  # noqa: E402
from bench.stack import Options  # noqa: E402

from labrun.shared.client import LabrunClient  # noqa: E402

CELERY = str(Path(sys.executable).parent / "celery")
IDLE_S = 5.0


def idle_cpu(pid: int, seconds: float = IDLE_S) -> float:
    """CPU seconds per second of an idle worker (heartbeats, releaser ticks, BRPOP timeouts)."""
    c0 = measure.cpu_seconds(pid)
    time.sleep(seconds)
    return (measure.cpu_seconds(pid) - c0) / seconds


def floor_once(args: argparse.Namespace, opts: Options) -> dict[str, Any]:
    from bench import noop_app  # LABRUN_REDIS_URL is set: the app's broker is this Redis db

    with labstack.lab(opts, "cpufloor", api=False) as st:
        cmd = [CELERY, "-A", "bench.noop_app", "worker", "--pool", "threads", "--concurrency",
               str(args.concurrency), "--queues", noop_app.QUEUE, "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle"]  # fmt: skip
        labstack.add_workers(st, 1, args.concurrency, cmd=cmd, cwd=HERE)
        pid = st.workers[0].pid
        r = redis.Redis.from_url(opts.redis_url)
        app = noop_app.app

        def drain(n: int) -> tuple[float, float]:
            c0, t0 = measure.cpu_seconds(pid), time.perf_counter()
            with app.producer_or_acquire() as producer:
                for i in range(n):
                    app.send_task(noop_app.TASK, args=(i,), producer=producer, ignore_result=True)
            while r.llen(noop_app.QUEUE) or r.hlen("unacked"):
                time.sleep(0.05)
            return measure.cpu_seconds(pid) - c0, time.perf_counter() - t0

        drain(args.warmup)
        idle = idle_cpu(pid)
        cpu, wall = drain(args.n)
        r.close()
    return {"kind": "floor", "n": args.n, "cpu_s": cpu, "wall_s": wall, "ms_per_item": 1000 * cpu / args.n,
            "idle_cpu_per_s": idle, "rss_mb": None}  # fmt: skip


def labrun_once(args: argparse.Namespace, opts: Options, catalog: Path) -> dict[str, Any]:
    with labstack.lab(opts, "cpulab") as st:
        labstack.add_workers(st, 1, args.concurrency)
        pid = st.workers[0].pid
        with LabrunClient(st.api_url, timeout=120) as lab:

            def run(n: int, tag: str) -> tuple[float, float, dict]:
                c0, t0 = measure.cpu_seconds(pid), time.perf_counter()
                run_id = lab.submit_file(
                    catalog, model="fake", limit=n, experiment="bench-cpu", dataset_name=tag, cache="off"
                )["run_id"]
                while not (res := lab.get_run(run_id))["final"]:
                    time.sleep(0.2)
                return measure.cpu_seconds(pid) - c0, time.perf_counter() - t0, res

            run(args.warmup, "warmup")
            idle = idle_cpu(pid)
            cpu, wall, res = run(args.n, "measured")
        hwm = labstack.proc_status(pid).get("VmHWM", 0) / 1024
    return {"kind": "labrun", "n": args.n, "cpu_s": cpu, "wall_s": wall, "ms_per_item": 1000 * cpu / args.n,
            "idle_cpu_per_s": idle, "rss_mb": hwm, "status": res["status"], "counts": res["counts"]}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--source", type=Path, action="append", default=[], help="catalog CSVs to build from")
    p.add_argument("--catalog", type=Path, help="a CSV of at least --n rows (default: built in the temp dir)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="a dedicated db: it is flushed")
    p.add_argument("--pg-admin-url", default=Options.pg_admin)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    os.environ["LABRUN_REDIS_URL"] = args.redis_url
    catalog = args.catalog or bigcsv.build(args.source, args.n, bigcsv.default_path(args.n, "w"))
    opts = Options(pg_admin=args.pg_admin_url, redis_url=args.redis_url)
    procs.install_handlers()
    meta = {"date": datetime.now(UTC).isoformat(), "argv": sys.argv, "machine": measure.machine()}
    results: list[dict[str, Any]] = []
    try:
        for k in range(args.repeat):
            for kind in ("floor", "labrun"):
                res = floor_once(args, opts) if kind == "floor" else labrun_once(args, opts, catalog)
                res.update(repeat=k + 1, loadavg=os.getloadavg())
                results.append(res)
                line = f"{res['ms_per_item']:.3f} ms CPU/item, wall {res['wall_s']:.1f} s"
                idle = f"idle {res['idle_cpu_per_s'] * 1000:.1f} ms/s"
                print(f"[{datetime.now():%H:%M:%S}] {kind} #{k + 1}: {line}, {idle}", flush=True)
    finally:
        procs.stop_all()
    floor = [r["ms_per_item"] for r in results if r["kind"] == "floor"]
    lab = [r["ms_per_item"] for r in results if r["kind"] == "labrun"]
    pairs = [b / a for a, b in zip(floor, lab, strict=False)]
    summary = {
        "floor_ms_per_task_median": statistics.median(floor),
        "labrun_ms_per_datapoint_median": statistics.median(lab),
        "ratio_of_medians": statistics.median(lab) / statistics.median(floor),
        "ratio_per_pair": pairs,
        "floor_ms": floor,
        "labrun_ms": lab,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        meta["loadavg_end"] = os.getloadavg()
        args.json.write_text(json.dumps({"meta": meta, "config": vars(args), "summary": summary,
                                         "results": results}, indent=1, default=str))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
