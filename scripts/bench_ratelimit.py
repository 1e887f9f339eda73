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
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import measure, phases, procs, report, summary, workload  # noqa: E402
from bench.scenarios import SCENARIOS, Scenario, resolve, with_tpm  # noqa: E402
from bench.stack import Options, stack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


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
            base = phases.run_baseline(st, items, args.baseline_concurrency or s.workers * s.concurrency)
            print(f"  baseline: {base['overall_rps']:.1f} ok/s, 429s {base['server_429']}", flush=True)
        lab, run = phases.run_labrun(st, opts, args.catalog, args.timeout)
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
    summary_line = f"{lab['overall_rps']:.1f} ok/s, status {run['status']}, wall {lab['wall_s']:.0f} s"
    print(f"  labrun: {summary_line}", flush=True)
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="all", help=f"{', '.join(SCENARIOS)} (comma-separated) or all")
    p.add_argument("--n", type=int, help="datapoints (default: the scenario's)")
    p.add_argument("--quick", action="store_true", help="a tenth of the datapoints (smoke run)")
    p.add_argument("--repeat", type=int, default=1, help="repeat each scenario; tables show medians")
    p.add_argument("--workers", type=int, help="worker processes (default 2)")
    p.add_argument("--concurrency", type=int, help="threads per worker (default 100)")
    p.add_argument("--labrun-burst", type=float, help="labrun's burst_seconds (default: labrun's default, 1)")
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
    machine_at_start = measure.machine()
    results: list[dict[str, Any]] = []
    cache: dict = {}
    try:
        for name in names:
            s = resolve(name, args.n, args.quick, args.workers, args.concurrency, args.labrun_burst)
            runs = [one(s, args, opts, k + 1, cache) for k in range(args.repeat)]
            results += runs
            s = with_tpm(s, runs[-1]["config"]["tokens_per_request"])
            print("\n" + report.table(s, runs) + "\n", flush=True)
        if results:
            print(summary.markdown(results), flush=True)
    finally:
        procs.stop_all()
        if args.json:
            meta = {"date": datetime.now(UTC).isoformat(), "argv": sys.argv, "machine": measure.machine()}
            meta["machine_at_start"] = machine_at_start
            args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    failed = [c for r in results for c in r["checks"] if not c[1] and not c[0].startswith("(extra)")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
