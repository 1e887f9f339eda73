"""scripts/bench_scale.py: the POST profiled with py-spy, and the CLI submit path."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench import labstack
from bench.scale_probes import MB, post_run
from bench.stack import LABRUN


def pyspy_top(raw: Path, n: int = 30) -> list[tuple[str, float]]:
    """Inclusive share of samples per frame from py-spy's raw (collapsed) output."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, k = line.rpartition(" ")
        if not stack:
            continue
        total += int(k)
        for frame in {re.sub(r":\d+\)$", ")", f) for f in stack.split(";")}:
            counts[frame] += int(k)
    return [(f, round(100 * c / max(1, total), 1)) for f, c in counts.most_common(n)]


def profile_post(st: labstack.Lab, catalog: Path, fields: dict[str, str], out: Path) -> dict[str, Any]:
    """A second POST of an equal-size catalog (other ids, so a new dataset) under py-spy."""
    pyspy = Path(sys.executable).parent / "py-spy"
    if not pyspy.exists():
        return {"skipped": "py-spy not installed in the venv"}
    assert st.api is not None
    raw = out.with_suffix(".pyspy.txt")
    spy = subprocess.Popen(
        [str(pyspy), "record", "-p", str(st.api.pid), "-r", "200", "--format", "raw", "-o", str(raw),
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.5)
    try:
        res = post_run(st.api_url, catalog, fields)
    finally:
        time.sleep(0.5)
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    httpx.post(f"{st.api_url}/runs/{res['answer']['run_id']}/cancel", timeout=30)
    result = {k: v for k, v in res.items() if k != "answer"}
    if raw.exists():
        result["top_inclusive_pct"] = pyspy_top(raw)
        result["raw"] = str(raw)
    return result


def cli_submit(st: labstack.Lab, catalog: Path) -> dict[str, Any]:
    """``labrun submit FILE --model fake`` (no --wait): wall time and peak RSS (wait4's ru_maxrss)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [LABRUN, "submit", str(catalog), "--model", "fake"],
        env=labstack.env_for(st),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "peak_rss_mb": rusage.ru_maxrss / MB,
        "cpu_s": rusage.ru_utime + rusage.ru_stime,
        "exit": proc.returncode,
        "output": output[-500:],
    }
