"""Prometheus metrics on a worker process (its own port) and on the API, and JSON log lines."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.http_support import configure, run_rows
from tests.services import free_port
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e


def sample(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{want}}} in the metrics")


def test_a_worker_serves_its_metrics_and_logs_json(labrun, http_env, server, tmp_path):
    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.01)
    port = free_port()
    env = {**http_env, "LABRUN_WORKER_METRICS_PORT": str(port), "LABRUN_LOG_FORMAT": "json"}
    with worker_process(env, concurrency=8, name="obs", log=tmp_path / "w.log"):
        run, preds = run_rows("open", 20)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert sample(text, "labrun_datapoints_total", model="open", status="succeeded", error_type="") == 20
    assert sample(text, "labrun_tokens_total", model="open", kind="input") == sum(
        p.prompt_tokens for p in preds
    )
    assert sample(text, "labrun_cost_usd_total", model="open") == pytest.approx(
        float(run.cost_usd), rel=1e-3
    )  # the run rounds to $1e-6
    assert sample(text, "labrun_limiter_wait_seconds_count", model="open") >= 20
    assert sample(text, "labrun_run_duration_seconds_count", use_case="assign-cat") >= 1
    assert "labrun_queue_depth" in text
    lines = [ln for ln in (tmp_path / "w.log").read_text().splitlines() if ln.startswith("{")]
    records = [json.loads(ln) for ln in lines]
    assert any(f":{port}/metrics" in r["message"] for r in records), lines
    assert all({"time", "level", "message", "run_id", "datapoint_id"} <= r.keys() for r in records)


def test_the_api_counts_requests_by_route_template(settings_env):
    from fastapi.testclient import TestClient

    from labrun.api.main import create_app

    with TestClient(create_app(auth="off")) as client:
        assert client.get("/runs/no-such-run").status_code == 404
        text = client.get("/metrics").text
    assert sample(text, "labrun_api_requests_total", method="GET", route="/runs/{run_id}", status="404") >= 1
    assert "no-such-run" not in text  # templates, never raw paths
