"""The two phases of a scenario on the same fake server: the asyncio baseline, then labrun."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench import baseline, measure, probes, workload
from bench.stack import ALIAS, Options, Stack, start_labrun
from labrun.shared.client import LabrunClient


def run_baseline(st: Stack, items: list[workload.Item], concurrency: int) -> dict[str, Any]:
    s = st.scenario
    measure.reset_fake(st.fake_url)
    cpu0 = time.process_time(), measure.cpu_seconds(st.fake_pid)
    busy0 = probes.machine_busy()
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
    busy1 = probes.machine_busy()
    out["machine_busy_pct"] = 100.0 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
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
        probe = probes.Probe(opts.redis_url)
        t0 = time.monotonic()
        with LabrunClient(st.api_url, timeout=60) as lab:
            run_id = lab.submit_file(
                catalog,
                model=ALIAS,
                limit=s.n,
                max_candidates=s.max_candidates,
                experiment="bench-ratelimit",
                dataset_name=f"bench-{s.name}",
                cache="off",  # every call reaches the provider: the limiter is what is measured
            )["run_id"]
            deadline = t0 + timeout
            while not (run := lab.get_run(run_id))["final"]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        wall = time.monotonic() - t0
        probed = probe.finish()
        cpu = {f"cpu_{k}_s": measure.cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
        stats = measure.fake_stats(st.fake_url)
        out = {**measure.server_figures(stats, workload.MAX_TOKENS)}
        out.update(measure.labrun_rows(st.env["LABRUN_DATABASE_URL"], run_id, st.artifacts))
        measure.throughput(out, stats["first_request_at"])
        out.update(wall_s=wall, run_id=run_id, **cpu, **probed)
        return out, run
