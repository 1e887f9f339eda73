"""Classify end to end through the CLI: a real Flipkart sample, a worker process, the chord's
finalize, the metrics table with per-label scores and the confusion matrix, and the run directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).parents[2] / "examples"


def labrun(env: dict, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env, "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "labrun.cli.main", *args]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=300, cwd=cwd)


def test_classify_flipkart_sample_through_the_cli(e2e_env, worker, tmp_path):
    out = labrun(
        e2e_env,
        "submit", str(EXAMPLES / "flipkart-classify-300.csv"), "--use-case", "classify",
        "-o", f"labels=@{EXAMPLES / 'flipkart-labels.txt'}", "--model", "fake", "--limit", "120", "--wait",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    run_id = re.search(r"run (classify-\S+): 120 datapoints queued", out.stdout).group(1)
    for heading in ("accuracy (valid only)", "by expected label", "per label", "confusion matrix"):
        assert heading in out.stdout
    exported = labrun(e2e_env, "export", run_id, "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-3000:]
    root = Path(exported.stdout.strip().splitlines()[-1])
    summary = json.loads((root / "metadata/run_summary.json").read_text())
    assert (
        summary["status"] == "succeeded"
        and summary["counts"]["succeeded"] + summary["counts"]["failed"] == 120
    )
    assert len((root / "inputs/datapoints.jsonl").read_text().splitlines()) == 120
    assert (root / "outputs/classifications.csv").exists() and (root / "config/run_config.json").exists()


def test_bad_label_file_is_a_clear_error_and_creates_nothing(e2e_env, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("Footwear\nWatches\n")
    out = labrun(
        e2e_env, "submit", str(EXAMPLES / "flipkart-classify-300.csv"), "-u", "classify",
        "-o", f"labels=@{labels}", "--model", "fake", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "rows.1.label" in out.stderr and "is not one of the labels" in out.stderr


def test_classify_through_the_api_and_the_python_client(labrun_env, worker):
    """The API in-process, the client over it, a real worker process finishing the run."""
    from fastapi.testclient import TestClient

    from labrun.api.main import create_app
    from labrun.shared.client import LabrunClient
    from tests.auth import new_key

    with TestClient(create_app(), headers=new_key().headers) as http, LabrunClient(http=http) as lab:
        created = lab.submit_file(
            EXAMPLES / "flipkart-classify-300.csv", model="fake", use_case="classify",
            files={"labels": EXAMPLES / "flipkart-labels.txt"}, limit=60,
        )  # fmt: skip
        run = lab.wait(created["run_id"], poll_s=0.2, timeout_s=120)
        assert run["status"] == "succeeded" and run["final"] and run["counts"]["done"] == 60
        overall = lab.metrics(run["id"])[0]
        assert overall["segment"] == "all" and overall["n"] == 60
        per_label = overall["extra"]["per_label"]
        assert sum(s["support"] for s in per_label.values()) == overall["n_valid"]
        page = lab.predictions(run["id"], limit=5)
        assert page["total"] == 60 and page["items"][0]["details"]["parse_method"]
