"""No secret leaks: a provider key and a database password are planted in the environment; a run
goes through a real worker, then every CLI command and API route that shows a run is used, and
their output, the worker's log, the exports, the raw captures, the run's config snapshot and the
/metrics pages are scanned for either value."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.e2e.crash_support import forget_clients, point_at
from tests.e2e.http_support import configure
from tests.helpers import EXAMPLES
from tests.services import free_port
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e
KEY = "sk-PLANTED-key-9c1d2e4f"
DB_PASSWORD = "PLANTED-db-pw-7f3e11"


def found_in_tree(root: Path) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path}: {s}" for s in (KEY, DB_PASSWORD) if s.encode() in data]
    return hits


def test_no_command_route_log_export_or_capture_shows_a_secret(http_env, server, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from labrun.api.main import create_app
    from labrun.cli.main import app
    from labrun.shared.storage.db.models import Run
    from labrun.shared.storage.db.session import session_scope

    db_url = sa.make_url(http_env["LABRUN_DATABASE_URL"])
    if db_url.host is None:
        pytest.skip("the planted password needs a TCP database (trust auth ignores it)")
    planted = db_url.set(password=DB_PASSWORD).render_as_string(hide_password=False)
    port = free_port()
    env = {**http_env, "OPENAI_API_KEY": KEY, "LABRUN_DATABASE_URL": planted, "LABRUN_LOG_FORMAT": "json",
           "LABRUN_WORKER_METRICS_PORT": str(port)}  # fmt: skip
    point_at(env, monkeypatch)
    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.01, error_rate=0.2)  # some errors too: their messages are shown
    cli, outputs = CliRunner(), []
    try:
        with worker_process(env, concurrency=8, name="secrets", log=tmp_path / "w.log"):
            sub = cli.invoke(app, ["submit", str(EXAMPLES / "amazon-toys-200.csv"), "--model", "open",
                                   "--limit", "30", "--cache", "off", "--wait"])  # fmt: skip
            outputs.append(sub.output)
            run_id = sub.output.split()[1].rstrip(":")
            for args in (["runs"], ["show", run_id], ["errors", run_id], ["watch", run_id],
                         ["export", run_id, "--out", str(tmp_path / "x"), "--raw"],
                         ["export", run_id, "--format", "jsonl", "--out", str(tmp_path / "t")],
                         ["compare", run_id, run_id], ["embedded", "status"], ["use-cases"]):  # fmt: skip
                result = cli.invoke(app, args)
                outputs.append(f"$ {args}\n{result.output}")
            outputs.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        with TestClient(create_app(auth="off")) as api:
            for path in ("/runs", f"/runs/{run_id}", f"/runs/{run_id}/predictions", f"/runs/{run_id}/metrics",
                         f"/runs/{run_id}/errors", f"/runs/{run_id}/export?format=jsonl", "/metrics",
                         "/healthz", "/readyz", f"/compare?a={run_id}&b={run_id}", "/experiments"):  # fmt: skip
                outputs.append(f"GET {path}\n{api.get(path).text}")
        with session_scope() as s:
            run = s.get(Run, run_id)
            assert run is not None and run.status in ("succeeded", "partial")
            outputs.append(json.dumps(run.config))
    finally:
        forget_clients()
    text = "\n".join(outputs)
    assert "export" in text and "predictions" in text  # the commands ran
    assert KEY not in text and DB_PASSWORD not in text, [
        ln for ln in text.splitlines() if KEY in ln or DB_PASSWORD in ln
    ][:5]
    assert found_in_tree(tmp_path) == []  # the worker log, both exports
    assert found_in_tree(Path(http_env["LABRUN_ARTIFACTS_URL"])) == []  # raw captures, cache entries
