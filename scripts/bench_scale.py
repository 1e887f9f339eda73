#!/usr/bin/env python
"""Benchmark (not a test): one big run (default 100,000 rows) of the ``fake`` model (in-process, 0
latency) through ``POST /runs`` and 2 ``labrun worker`` processes, against the scale targets:

- end of upload -> ``POST /runs`` answer <= 2 s (and the CLI path, ``labrun submit``, wall time);
- answer -> first prediction row <= 2 s; run finished_at - last prediction finished_at <= 5 s;
- ``GET /runs/{id}`` p95 <= 50 ms while the run goes (polled every 0.5 s);
- peak RSS: API (parsing the upload) and CLI <= 500 MB, each worker <= 300 MB (VmHWM);
- Redis memory per queued datapoint <= 2 KB: what Redis holds above its idle level
  (``used_memory_dataset``, i.e. without the server's and its clients' buffers) / (LLEN
  labrun.predict + HLEN unacked); ``used_memory`` per queued datapoint is reported beside it;
- the ETA of ``GET /runs/{id}`` in the first minute against the actual remaining time; rows/s.

    .venv/bin/python scripts/bench_scale.py --source a.csv --source b.csv --rows 100000 \
        --json docs/bench-results/2026-12-01-scale.json

The catalog is built once by cycling through the --source CSVs (unique ids) into --catalog
(default: a file in the temp dir derived from --rows). Needs Postgres (creates and drops its own
database) and Redis (flushes --redis-url's db).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
import redis  # noqa: E402
from bench import bigcsv, labstack, measure, procs  # noqa: E402
from bench.scale_probes import MB, Sampler, db_times, eta_check, key_memory, pct, post_run  # noqa: E402
from bench.scale_profile import cli_submit, profile_post  # noqa: E402
from bench.stack import Options  # noqa: E402


def run(args: argparse.Namespace) -> dict[str, Any]:
    catalog = bigcsv.build(args.source, args.rows, args.catalog or bigcsv.default_path(args.rows, "s"))
    cli_catalog = bigcsv.build(args.source, args.rows, bigcsv.default_path(args.rows, "c"), prefix="c")
    prof_catalog = bigcsv.build(args.source, args.rows, bigcsv.default_path(args.rows, "p"), prefix="p")
    opts = Options(pg_admin=args.pg_admin_url, redis_url=args.redis_url, keep=args.keep)
    fields = {
        "model": "fake",
        "experiment": "bench-scale",
        "dataset_name": f"scale-{args.rows}",
        "cache": "off",
    }
    out: dict[str, Any] = {"rows": args.rows, "catalog_bytes": catalog.stat().st_size}
    out["config"] = {"workers": args.workers, "concurrency": args.concurrency, "model": "fake (latency_ms 0)"}
    with labstack.lab(opts, "scale") as st:
        assert st.api is not None
        labstack.add_workers(st, args.workers, args.concurrency)
        pids = {"api": st.api.pid, **{f"worker{i + 1}": w.pid for i, w in enumerate(st.workers)}}
        time.sleep(2)
        r = redis.Redis.from_url(opts.redis_url)
        idle_mem = r.info("memory")
        out["redis_used_memory_idle"] = idle_mem["used_memory"]
        out["redis_dataset_idle"] = idle_mem.get("used_memory_dataset", 0)
        out["rss_before_mb"] = {k: labstack.proc_status(p).get("VmHWM", 0) / MB for k, p in pids.items()}
        cpu0 = {k: measure.cpu_seconds(p) for k, p in pids.items()}
        sampler = Sampler(opts.redis_url, pids)
        sampler.start()
        print(
            f"[{datetime.now():%H:%M:%S}] POST /runs: {catalog} ({out['catalog_bytes'] / 1e6:.1f} MB)",
            flush=True,
        )
        post = post_run(st.api_url, catalog, fields)
        out["post"] = {k: v for k, v in post.items() if k != "answer"}
        run_id = post["answer"]["run_id"]
        out["run_id"] = run_id
        out["api_peak_rss_after_post_mb"] = labstack.proc_status(st.api.pid).get("VmHWM", 0) / MB
        print(
            f"  answered in {post['end_of_upload_to_answer_s']:.2f} s after the upload: {run_id}", flush=True
        )
        polls: list[dict[str, Any]] = []
        keys_mid: dict[str, Any] | None = None
        deadline = time.monotonic() + args.timeout
        with httpx.Client(base_url=st.api_url, timeout=30) as client:
            while time.monotonic() < deadline:
                t = time.time()
                t1 = time.perf_counter()
                resp = client.get(f"/runs/{run_id}")
                lat = time.perf_counter() - t1
                body = resp.json()
                polls.append(
                    {
                        "t": t,
                        "latency_ms": 1000 * lat,
                        "status": body["status"],
                        "final": body["final"],
                        "progress": body.get("progress"),
                        "eta_seconds": body.get("eta_seconds"),
                        "rate_per_s": body.get("rate_per_s"),
                        "done": (body.get("counts") or {}).get("done"),
                    }
                )
                if keys_mid is None and (body.get("progress") or 0) >= 0.5:
                    keys_mid = key_memory(r)
                if len(polls) % 60 == 0:
                    print(
                        f"  {t - post['answered_at']:.0f} s: {body['status']} {body.get('progress')}",
                        flush=True,
                    )
                if body["final"]:
                    break
                time.sleep(max(0.0, args.poll - (time.perf_counter() - t1)))
        samples = sampler.finish()
        cpu = {k: measure.cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        times = db_times(st.database_url, run_id)
        hwm = {k: labstack.proc_status(p).get("VmHWM", 0) / MB for k, p in pids.items()}
        out.update(db=times, peak_rss_mb=hwm, cpu_s=cpu)
        running = [p for p in polls if not p["final"]]
        lats = [p["latency_ms"] for p in running]
        out["get_run"] = {
            "polls": len(lats),
            "p50_ms": pct(lats, 0.5),
            "p95_ms": pct(lats, 0.95),
            "max_ms": max(lats, default=math.nan),
        }
        ans = post["answered_at"]
        fin = times["run_finished_at"] or math.nan
        out["first_prediction_after_answer_s"] = (times["first_started_at"] or math.nan) - ans
        out["first_row_finished_after_answer_s"] = (times["first_finished_at"] or math.nan) - ans
        out["finalize_s"] = fin - (times["last_finished_at"] or math.nan)
        out["answer_to_finished_s"] = fin - ans
        out["rows_per_s_overall"] = args.rows / (fin - ans)
        span = (times["last_finished_at"] or 0) - (times["first_started_at"] or 0)
        out["rows_per_s_predicting"] = times["prediction_rows"] / span if span > 0 else math.nan
        out["worker_cpu_ms_per_row"] = (
            1000 * sum(v for k, v in cpu.items() if k.startswith("worker")) / max(1, times["prediction_rows"])
        )
        out["eta"] = eta_check(polls, ans, fin)
        idle = out["redis_used_memory_idle"]
        per = [
            (s["used_memory"] / q, (s["used_memory"] - idle) / q, q)
            for s in samples
            if ans < s["t"] < fin and (q := s["llen"] + s["unacked"]) > 0
        ]
        idle_data = out["redis_dataset_idle"]
        data = [  # what Redis holds (used_memory_dataset: used_memory less its own and clients' overhead)
            (s["dataset"] - idle_data) / q
            for s in samples
            if ans < s["t"] < fin and (q := s["llen"] + s["unacked"]) > 0
        ]
        out["redis"] = {
            "dataset_bytes_per_queued_above_idle_median": statistics.median(data) if data else None,
            "dataset_bytes_per_queued_above_idle_p95": pct(data, 0.95),
            "clients_mb_median": statistics.median([s["clients"] for s in samples]) / 1e6
            if samples
            else None,
            "samples": len(per),
            "queued_median": statistics.median([q for *_, q in per]) if per else None,
            "queued_max": max((q for *_, q in per), default=None),
            "used_memory_idle_mb": idle / 1e6,
            "used_memory_peak_during_run_mb": max((s["used_memory"] for s in samples), default=0) / 1e6,
            "bytes_per_queued_median": statistics.median([a for a, _, _ in per]) if per else None,
            "bytes_per_queued_above_idle_median": statistics.median([b for _, b, _ in per]) if per else None,
            "bytes_per_queued_above_idle_p95": pct([b for _, b, _ in per], 0.95),
            "message_bytes_median": statistics.median(sampler.msg_bytes) if sampler.msg_bytes else None,
            "used_memory_end_mb": r.info("memory")["used_memory"] / 1e6,
            "keys_end": r.dbsize(),
            "keys_at_half_progress": keys_mid,
        }
        out["rss_series_max_mb"] = {
            k.removeprefix("rss_").removesuffix("_kb"): max((s[k] for s in samples), default=0) / MB
            for k in (samples[0].keys() if samples else [])
            if k.startswith("rss_")
        }
        out["polls"] = [
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in p.items()} for p in polls
        ]
        r.close()
        print(
            f"  run {times['status']} {times['prediction_statuses']}; finalize {out['finalize_s']:.2f} s",
            flush=True,
        )
        labstack.stop_workers(st)  # nothing consumes the next submissions: they only measure submit
        if args.profile_post:
            print(f"[{datetime.now():%H:%M:%S}] POST under py-spy", flush=True)
            out["post_profiled"] = profile_post(st, prof_catalog, fields, Path(args.json or "scale.json"))
        print(f"[{datetime.now():%H:%M:%S}] labrun submit (CLI)", flush=True)
        out["cli"] = cli_submit(st, cli_catalog)
    out["checks"] = checks(out)
    return out


def checks(o: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    rss = o["peak_rss_mb"]
    workers = [v for k, v in rss.items() if k.startswith("worker")]
    per_q = o["redis"]["bytes_per_queued_median"]
    data_q = o["redis"]["dataset_bytes_per_queued_above_idle_median"]
    return [
        ("end of upload -> POST answer <= 2 s", f"{o['post']['end_of_upload_to_answer_s']:.2f} s",
         o["post"]["end_of_upload_to_answer_s"] <= 2),
        ("(reference) CLI labrun submit wall", f"{o['cli']['wall_s']:.2f} s", None),
        ("answer -> first prediction started <= 2 s", f"{o['first_prediction_after_answer_s']:.2f} s",
         o["first_prediction_after_answer_s"] <= 2),
        ("run succeeded", f"{o['db']['status']} {o['db']['prediction_statuses']}", o["db"]["status"] == "succeeded"),
        ("finalize (finished_at - last prediction) <= 5 s", f"{o['finalize_s']:.2f} s", o["finalize_s"] <= 5),
        ("GET /runs/{id} p95 <= 50 ms", f"p50 {o['get_run']['p50_ms']:.1f}, p95 {o['get_run']['p95_ms']:.1f} ms",
         o["get_run"]["p95_ms"] <= 50),
        ("API peak RSS <= 500 MB", f"{rss['api']:.0f} MB", rss["api"] <= 500),
        ("CLI peak RSS <= 500 MB", f"{o['cli']['peak_rss_mb']:.0f} MB", o["cli"]["peak_rss_mb"] <= 500),
        ("each worker peak RSS <= 300 MB", ", ".join(f"{w:.0f}" for w in workers) + " MB",
         all(w <= 300 for w in workers)),
        ("Redis data above idle / queued <= 2 KB", f"{(data_q or 0) / 1024:.2f} KB",
         data_q is not None and data_q <= 2048),
        ("(extra) Redis used_memory / queued, clients' buffers included", f"{(per_q or 0) / 1024:.2f} KB", None),
        ("(extra) ETA / actual left, first minute", f"median {o['eta']['ratio_median']}", None),
        ("(extra) rows/s overall (answer -> finished)", f"{o['rows_per_s_overall']:.0f}", None),
    ]  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--source", type=Path, action="append", default=[], help="catalog CSVs to build from")
    p.add_argument("--catalog", type=Path, help="the big CSV (default: a temp file derived from --rows)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--poll", type=float, default=0.5, help="GET /runs/{id} every this many seconds")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--profile-post", action="store_true", help="a second POST under py-spy (after the run)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/10", help="a dedicated db: it is flushed")
    p.add_argument("--pg-admin-url", default=Options.pg_admin)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--json", type=Path, help="append this run to the JSON file's results")
    args = p.parse_args()
    procs.install_handlers()
    meta = {"date": datetime.now(UTC).isoformat(), "argv": sys.argv, "machine": measure.machine()}
    try:
        res = run(args)
    finally:
        procs.stop_all()
    res["meta"] = meta | {"loadavg_end": os.getloadavg()}
    for name, value, ok in res["checks"]:
        print(f"  {'-   ' if ok is None else 'PASS' if ok else 'FAIL'}  {name}: {value}")
    if args.json:
        doc = json.loads(args.json.read_text()) if args.json.exists() else {"results": []}
        doc["results"].append(res)
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
