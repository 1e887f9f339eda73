#!/usr/bin/env python
"""Benchmark (not a test): experiments at a shared provider limit, and the response cache.

    .venv/bin/python scripts/bench_experiments.py --rows 500 --rpm 3000 --json docs/bench-results/experiments.json

Against the fake LLM server with a requests-per-minute limit (the provider's, also configured in
labrun), through ``labrun experiments run`` and 2 real workers:

1. **sweep**: a 4-cell sweep (temperatures) over N rows: the cells' summed traffic against the one
   limit (share of the limit used, 429s) and its wall time, against
2. **baseline**: one run of 4N rows at the same limit, measured in the same stack before it;
3. **cache**: the same experiment (one cell, N rows, cache read-write) run cold, then again warm:
   provider requests of the warm run (target 0), the speed-up, and whether its metrics equal the
   cold run's (cost and cache counters aside). ``--cache-rows`` sets its size apart from N, and
   ``--parts cache`` runs it alone:

    .venv/bin/python scripts/bench_experiments.py --parts cache --cache-rows 10000 --rpm 6000 \\
        --catalog ../shared/datasets/flipkart/catalog.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import measure, procs  # noqa: E402
from bench.scenarios import Scenario  # noqa: E402
from bench.stack import ALIAS, LABRUN, Options, stack, start_labrun  # noqa: E402

from labrun.shared.client import LabrunClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC = """name: {name}
status: ready
use_case: assign-cat
model: {alias}
dataset: {{location: path, path: {data}}}
params: {{max_tokens: 64{seed}}}
options: {{max_candidates: 20}}
"""


def rows_file(catalog: Path, n: int, out: Path) -> Path:
    """The catalog's header and first ``n`` records (records, not lines: some hold line breaks)."""
    with (
        catalog.open(encoding="utf-8", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        w = csv.writer(dst)
        for i, rec in enumerate(csv.reader(src)):
            if i > n:
                break
            w.writerow(rec)
    return out


def experiment(root: Path, name: str, data: Path, matrix: str = "", seed: int | None = None) -> None:
    d = root / ".experiments" / name
    d.mkdir(parents=True, exist_ok=True)
    params = f", seed: {seed}" if seed is not None else ""
    (d / "experiment.yaml").write_text(SPEC.format(name=name, alias=ALIAS, data=data, seed=params) + matrix)


def run_cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([LABRUN, *args], env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"labrun {' '.join(args)} failed: {out.stderr[-2000:]}")
    return out.stdout


def timed(st: Any, env: dict[str, str], *args: str) -> dict[str, Any]:
    measure.reset_fake(st.fake_url)
    t0, at = time.monotonic(), time.time()
    out = run_cli(env, *args)
    wall = time.monotonic() - t0
    stats = measure.fake_stats(st.fake_url)
    ok, limited = stats["ok"], stats.get("rate_limited", 0)
    span = (stats.get("last_request_at") or 0) - (stats.get("first_request_at") or 0)
    rate = ok / span if span > 0 else None
    return {"wall_s": wall, "cli_started_at": at, "cli_ended_at": at + wall, "requests": stats["requests"],
            "ok": ok, "rate_limited": limited, "ok_per_s": rate, "out_tail": out[-1500:]}  # fmt: skip


def metrics_of(api: str, run_id: str) -> dict[str, Any]:
    with LabrunClient(api) as c:
        rows = c.metrics(run_id)
    return next(m for m in rows if m["segment"] == "all")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=500, help="rows per cell (the baseline runs 4x)")
    p.add_argument("--rpm", type=float, default=3000, help="the provider's and labrun's limit")
    p.add_argument("--latency", type=float, default=0.2)
    p.add_argument("--catalog", type=Path, default=ROOT.parent / "shared/datasets/amazon-uk-toys/catalog.csv")
    p.add_argument("--cache-rows", type=int, help="rows of the cache experiment (default: --rows)")
    p.add_argument("--parts", default="sweep,cache", help="which parts to run: sweep, cache or both")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    if not parts or parts - {"sweep", "cache"}:
        p.error(f"--parts: expected sweep, cache or sweep,cache, got {args.parts!r}")
    cache_rows = args.cache_rows or args.rows
    procs.install_handlers()
    s = Scenario(
        name="experiments",
        n=max(args.rows * 4, cache_rows),
        latency_s=args.latency,
        rpm=args.rpm,
        burst_s=2.0,
    )
    opts = Options(finalize_grace_s=10)
    res: dict[str, Any] = {"config": vars(args) | {"catalog": str(args.catalog)}}
    try:
        with stack(s, opts, "exp") as st, start_labrun(st, opts):
            root = st.tmp / "repo"
            env = {**st.env, "LABRUN_API_AUTH": "off"}
            base = ["--root", str(root)]
            if "sweep" in parts:
                small = rows_file(args.catalog, args.rows, st.tmp / "rows.csv")
                big = rows_file(args.catalog, args.rows * 4, st.tmp / "rows4.csv")
                experiment(root, "baseline", big)
                experiment(root, "sweep", small, "matrix:\n  params.temperature: [0.1, 0.2, 0.3, 0.4]\n")
                res["baseline"] = timed(st, env, "experiments", "run", "baseline", *base)
                res["sweep"] = timed(st, env, "experiments", "run", "sweep", *base)
            if "cache" in parts:
                cache_part(st, env, root, base, args.catalog, cache_rows, res)
    finally:
        procs.stop_all()
    res["derived"] = derived(res, args.rpm / 60)
    print(json.dumps(res["derived"], indent=1))
    if args.json:
        meta = {"date": datetime.now(UTC).isoformat(), "argv": sys.argv, "machine": measure.machine()}
        args.json.write_text(json.dumps({"meta": meta, "results": res}, indent=1, default=str))
    return 0


def cache_part(
    st: Any, env: dict[str, str], root: Path, base: list[str], catalog: Path, n: int, res: dict[str, Any]
) -> None:
    """The same experiment run cold, then warm; whether the warm run's metrics equal the cold's."""
    cached = rows_file(catalog, n, st.tmp / "cached.csv")
    experiment(root, "cached", cached, seed=11)  # its own requests: nothing cached before it
    res["cache_cold"] = timed(st, env, "experiments", "run", "cached", *base)
    res["cache_warm"] = timed(st, env, "experiments", "run", "cached", *base)
    with LabrunClient(st.api_url) as c:
        runs = [r for r in c.list_runs(limit=20) if r["experiment"] == "cached"]
    warm, cold = runs[0]["id"], runs[1]["id"]
    for part, run_id in (("cache_cold", cold), ("cache_warm", warm)):
        res[part]["phases_s"] = phases(st.api_url, run_id, res[part])
    mc, mw = metrics_of(st.api_url, cold), metrics_of(st.api_url, warm)
    skip = {
        "cost_usd",
        "cached_cost_usd",
        "n_cache_hits",
        "throughput_per_s",
        "attempts_total",
        "computed_at",
    }
    res["cache_metrics_equal"] = {k: mc[k] == mw[k] for k in mc if k not in skip}


def phases(api: str, run_id: str, timing: dict[str, Any]) -> dict[str, float | None]:
    """Where the CLI's wall time went: before the run existed (start-up, reading, submitting), the
    run (created -> started -> finished), and after it (noticing the end, exporting the results)."""
    with LabrunClient(api) as c:
        run = c.get_run(run_id)

    def at(field: str) -> float | None:
        value = run.get(field)
        return datetime.fromisoformat(value).timestamp() if value else None

    created, started, finished = at("created_at"), at("started_at"), at("finished_at")
    if created is None or finished is None:
        return {}
    events = [  # the dispatch's event once it answered from the cache (a warm run)
        e for e in run.get("events") or [] if e.get("action") == "answered from the response cache"
    ]
    answered = [datetime.fromisoformat(e["at"]).timestamp() for e in events]
    out = {
        "cli_before_run": created - timing["cli_started_at"],
        "queued": (started or created) - created,
        "running": finished - (started or created),
        "cli_after_run": timing["cli_ended_at"] - finished,
    }
    if answered:
        out["answering_at_dispatch"] = answered[0] - (started or created)
        out["after_answering_to_finished"] = finished - answered[0]
        out["answered_by_helpers"] = events[0].get("by_helpers")  # datapoints, not seconds
    return out


def derived(res: dict[str, Any], limit_per_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "sweep" in res:
        sw, bl = res["sweep"], res["baseline"]
        out |= {
            "sweep_limit_used": (sw["ok_per_s"] or 0) / limit_per_s,
            "sweep_429_share": sw["rate_limited"] / max(1, sw["requests"]),
            "sweep_vs_baseline_wall": sw["wall_s"] / bl["wall_s"],
            "baseline_limit_used": (bl["ok_per_s"] or 0) / limit_per_s,
        }
    if "cache_warm" in res:
        cc, cw = res["cache_cold"], res["cache_warm"]
        out |= {
            "cache_cold_requests": cc["requests"],
            "cache_warm_requests": cw["requests"],
            "cache_speedup": cc["wall_s"] / cw["wall_s"],
            "cache_metrics_identical": all(res["cache_metrics_equal"].values()),
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
