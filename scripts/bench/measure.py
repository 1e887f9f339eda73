"""Figures of one phase (labrun or the baseline): from the fake server's ``/stats``, from the
prediction rows (Postgres) and raw objects (artifact directory), or from the baseline's JSONL."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg

SKIP_S = 5  # "sustained" ignores the first seconds (bucket burst, ramp-up) ...
TAIL_SHARE = 0.95  # ... and the drain after this share of the successes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout
    git = ["git", "-C", str(Path(__file__).resolve().parents[2])]
    rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    dirty = subprocess.run([*git, "status", "--short"], capture_output=True, text=True).stdout.split("\n")
    return {
        "nproc": os.cpu_count(),
        "free_h": free,
        "loadavg": os.getloadavg(),
        "python": sys.version,
        "git": rev.strip(),
        "git_dirty": [line for line in dirty if line.strip()],
    }


def fake_stats(fake_url: str) -> dict[str, Any]:
    return httpx.get(f"{fake_url}/stats", timeout=10).json()


def reset_fake(fake_url: str) -> None:
    httpx.post(f"{fake_url}/stats/reset", timeout=10).raise_for_status()


def sustained(per_second: list[int]) -> float:
    """Mean of a per-second series over [SKIP_S, the second reaching TAIL_SHARE of the total);
    short series (< 3 s after the skip) skip only the first second."""
    total, cum, end = sum(per_second), 0, len(per_second)
    for i, count in enumerate(per_second):
        cum += count
        if cum >= TAIL_SHARE * total:
            end = i
            break
    skip = SKIP_S if end - SKIP_S >= 3 else min(1, max(end - 1, 0))
    window = per_second[skip:end] or per_second
    return sum(window) / len(window) if window else 0.0


def histogram(times: list[float], origin: float) -> list[int]:
    seconds = Counter(int(t - origin) for t in times if t >= origin)
    return [seconds.get(i, 0) for i in range(max(seconds, default=-1) + 1)]


def server_figures(stats: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    ok = stats["ok"]
    tokens_per_ok = (stats["prompt_tokens"] / ok + max_tokens) if ok else 0.0
    return {
        "server_requests": stats["requests"],
        "server_ok": ok,
        "server_429": stats["rate_limited"],
        "server_5xx": stats["errors"],
        "server_rejected": stats["rejected"],
        "pct_429": 100.0 * stats["rate_limited"] / max(1, stats["requests"]),
        "peak_in_flight": stats["peak_in_flight"],
        "server_sustained_rps": sustained(stats["ok_per_second"]),
        "tokens_per_request": tokens_per_ok,
        "completion_tokens_per_ok": stats["completion_tokens"] / ok if ok else 0.0,
        "ok_per_second": stats["ok_per_second"],
    }


def labrun_rows(database_url: str, run_id: str, artifacts: Path) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        n_total = conn.execute("SELECT n_total FROM runs WHERE id = %s", (run_id,)).fetchone()[0]  # type: ignore[index]
        rows = conn.execute(
            "SELECT d.external_id, p.status, p.error_type, p.attempts, p.finish_reason,"
            " extract(epoch FROM p.finished_at)::float8, p.request"
            " FROM predictions p JOIN datapoints d ON d.id = p.datapoint_id WHERE p.run_id = %s",
            (run_id,),
        ).fetchall()
    raw_dir = artifacts / "runs" / run_id / "raw"
    raw_objects = sum(1 for p in raw_dir.iterdir() if not p.name.startswith(".")) if raw_dir.is_dir() else 0
    figures = row_figures(
        n_total,
        [{"id": r[0], "status": r[1], "error_type": r[2], "attempts": r[3], "at": r[5]} for r in rows],
    )
    figures["with_response"] = sum(1 for r in rows if r[4] is not None)
    figures["raw_objects"] = raw_objects
    figures["requests"] = {r[0]: r[6] for r in rows}
    return figures


def row_figures(n_total: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    attempts = [int(r["attempts"] or 0) for r in rows]
    distinct = len({r["id"] for r in rows})
    return {
        "n": n_total,
        "rows": len(rows),
        "lost": max(0, n_total - distinct),
        "duplicate_rows": len(rows) - distinct,
        "succeeded": sum(1 for r in rows if r["status"] == "succeeded"),
        "error_types": dict(Counter(r.get("error_type") for r in rows if r.get("error_type"))),
        "attempts_total": sum(attempts),
        "attempts_max": max(attempts, default=0),
        "attempts_min": min(attempts, default=0),
        "attempts_hist": dict(sorted(Counter(attempts).items())),
        "finished_at": [r["at"] for r in rows if r.get("at")],
    }


def throughput(figures: dict[str, Any], first_request_at: float | None) -> None:
    """Overall: results per second from the first provider request to the last stored result;
    sustained: from the per-second histogram of stored results. Adds the keys in place."""
    done = figures.pop("finished_at")
    if not done or first_request_at is None:
        figures.update(overall_rps=0.0, rows_sustained_rps=0.0, span_s=math.nan)
        return
    span = max(max(done) - first_request_at, 1e-6)
    figures.update(
        span_s=span,
        overall_rps=figures["succeeded"] / span,
        rows_sustained_rps=sustained(histogram(done, first_request_at)),
    )
