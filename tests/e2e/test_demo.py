"""`labrun demo` on a machine with nothing configured: embedded PostgreSQL and Redis, its own
worker process, the same tasks and chord (not eager mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_on_embedded_services(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABRUN_", "OPENAI_", "ANTHROPIC_"))}
    env.update(LABRUN_HOME=str(tmp_path / "home"), COLUMNS="120")
    out = subprocess.run(
        [sys.executable, "-m", "labrun.cli.main", "demo", "--limit", "60", "--out", str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "embedded under" in out.stdout
    for figure in ("accuracy (valid only)", "cost", "latency p50/p95/p99"):
        assert figure in out.stdout
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1
    summary = json.loads((run_dirs[0] / "metadata" / "run_summary.json").read_text())
    assert summary["status"] == "succeeded"
    assert f"run directory: {run_dirs[0]}" in out.stdout
    # the demo stopped the services it started
    assert not (tmp_path / "home" / "pgdata" / "postmaster.pid").exists()
    assert not (tmp_path / "home" / "redis.sock").exists()
