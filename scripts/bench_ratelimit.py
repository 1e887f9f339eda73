#!/usr/bin/env python
"""Benchmark (not a test): global per-provider rate limits, retries by error class, and throughput
at the provider's limit, through the real API and real worker processes against the fake LLM
server, side by side with a plain single-process asyncio client at the same limit.

    .venv/bin/python scripts/bench_ratelimit.py --scenario all --json bench.json
    .venv/bin/python scripts/bench_ratelimit.py --scenario rpm --quick      # smoke run
    .venv/bin/python scripts/bench_ratelimit.py --scenario nolimit --repeat 3

Needs Postgres (creates and drops its own database per scenario) and Redis (flushes one db).
See docs/benchmarks.md for the scenarios, targets and results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import baseline, measure, procs, report, workload  # noqa: E402
from bench.scenarios import SCENARIOS, Scenario, resolve, with_tpm  # noqa: E402
from bench.stack import ALIAS, Options, Stack, stack, start_labrun  # noqa: E402

from shared.client import FINAL_STATUSES, LabrunClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run_baseline(st: Stack, items: list[workload.Item], concurrency: int) -> dict[str, Any]:
    s = st.scenario
    measure.reset_fake(st.fake_url)
    cpu0 = time.process_time(), measure.cpu_seconds(st.fake_pid)
    res = asyncio.run(
        baseline.run(
            items,
            st.fake_url + "/v1",
            st.tmp / "baseline.jsonl",
            concurrency=concurrency,
            rpm=s.rpm,
            tpm=s.tpm,
            burst_s=s.burst_s,
        )
    )
    stats = measure.fake_stats(st.fake_url)
    out = {**measure.server_figures(stats, workload.MAX_TOKENS), **measure.row_figures(s.n, res.rows)}
    measure.throughput(out, stats["first_request_at"])
    out.update(wall_s=res.wall_s, cpu_client_s=time.process_time() - cpu0[0])
    out["cpu_fake_s"] = measure.cpu_seconds(st.fake_pid) - cpu0[1]
    time.sleep(s.burst_s + 1)  # let the provider's buckets fill up again before labrun's turn
    return out


def run_labrun(st: Stack, opts: Options, catalog: Path, timeout: float) -> tuple[dict[str, Any], dict]:
    s = st.scenario
    with start_labrun(st, opts):
        measure.reset_fake(st.fake_url)
        pids = {
            "api": st.api_pid,
            "fake": st.fake_pid,
            **{f"worker{i + 1}": w.pid for i, w in enumerate(st.workers)},
        }
        cpu0 = {k: measure.cpu_seconds(p) for k, p in pids.items()}
        t0 = time.monotonic()
        with LabrunClient(st.api_url, timeout=60) as lab:
            run_id = lab.submit_file(
                catalog,
                model=ALIAS,
                limit=s.n,
                max_candidates=s.max_candidates,
                experiment="bench-ratelimit",
                dataset_name=f"bench-{s.name}",
            )["run_id"]
            deadline = t0 + timeout
            while (run := lab.get_run(run_id))["status"] not in FINAL_STATUSES:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        wall = time.monotonic() - t0
        cpu = {f"cpu_{k}_s": measure.cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        stats = measure.fake_stats(st.fake_url)
        out = {**measure.server_figures(stats, workload.MAX_TOKENS)}
        out.update(measure.labrun_rows(st.env["LABRUN_DATABASE_URL"], run_id, st.artifacts))
        measure.throughput(out, stats["first_request_at"])
        out.update(wall_s=wall, run_id=run_id, **cpu)
        return out, run


def one(s: Scenario, args: argparse.Namespace, opts: Options, k: int, cache: dict) -> dict[str, Any]:
    key = (s.n, s.max_candidates)
    if key not in cache:
        cache[key] = workload.load(args.catalog, s.n, s.max_candidates)
    items = cache[key]
    s = with_tpm(s, workload.mean_tokens(items))
    print(f"[{datetime.now():%H:%M:%S}] {s.name} repeat {k}: n={s.n} rpm={s.rpm} tpm={s.tpm}", flush=True)
    with stack(s, opts, s.name) as st:
        base = None
        if not args.no_baseline:
            base = run_baseline(st, items, args.baseline_concurrency or s.workers * s.concurrency)
            print(f"  baseline: {base['overall_rps']:.1f} ok/s, 429s {base['server_429']}", flush=True)
        lab, run = run_labrun(st, opts, args.catalog, args.timeout)
    compared, differ = workload.same_prompts(items, lab.pop("requests"))
    r = {
        "scenario": s.name,
        "repeat": k,
        "config": vars(s) | {"tokens_per_request": workload.mean_tokens(items)},
        "labrun": lab,
        "baseline": base,
        "status": run["status"],
        "run_errors": run.get("errors_by_type"),
        "prompts_compared": compared,
        "prompts_differ": differ,
    }
    r["derived"] = report.derive(s, lab, base)
    r["checks"] = report.checks(s, r)
    print(
        f"  labrun: {lab['overall_rps']:.1f} ok/s, status {run['status']}, wall {lab['wall_s']:.0f} s",
        flush=True,
    )
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument(
        "--scenario", default="all", help=f"one of {', '.join(SCENARIOS)}, or all (comma-separated ok)"
    )
    p.add_argument("--n", type=int, help="datapoints (default: the scenario's)")
    p.add_argument("--quick", action="store_true", help="a tenth of the datapoints (smoke run)")
    p.add_argument("--repeat", type=int, default=1, help="repeat each scenario; tables show medians")
    p.add_argument("--workers", type=int, help="worker processes (default 2)")
    p.add_argument("--concurrency", type=int, help="threads per worker (default 100)")
    p.add_argument("--baseline-concurrency", type=int, help="default: workers x concurrency")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/datasets/amazon-uk-toys/catalog.csv")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--timeout", type=float, default=1800, help="per labrun run, seconds")
    p.add_argument("--redis-url", default=Options.redis_url, help="a dedicated db: it is flushed")
    p.add_argument("--pg-admin-url", default=Options.pg_admin)
    p.add_argument("--keep", action="store_true", help="keep databases and temp dirs (logs) for inspection")
    args = p.parse_args(argv)
    names = list(SCENARIOS) if args.scenario == "all" else args.scenario.split(",")
    opts = Options(pg_admin=args.pg_admin_url, redis_url=args.redis_url, keep=args.keep)
    procs.install_handlers()
    results: list[dict[str, Any]] = []
    cache: dict = {}
    try:
        for name in names:
            s = resolve(name, args.n, args.quick, args.workers, args.concurrency)
            runs = [one(s, args, opts, k + 1, cache) for k in range(args.repeat)]
            results += runs
            print(
                "\n" + report.table(with_tpm(s, runs[-1]["config"]["tokens_per_request"]), runs) + "\n",
                flush=True,
            )
    finally:
        procs.stop_all()
        if args.json:
            meta = {"date": datetime.now(UTC).isoformat(), "argv": sys.argv, "machine": measure.machine()}
            args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    failed = [c for r in results for c in r["checks"] if not c[1]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
