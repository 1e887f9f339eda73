"""A large upload's run (D34) against real Postgres, a private Redis broker and the in-process
dispatch: ``POST /runs`` answers before reading the rows, dispatch reads them into the run, and a
bad row fails the run with the file, row and field named and no datapoint written."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labrun.api.main import create_app
from labrun.shared.core.config import get_settings
from labrun.shared.runs.deferred import upload_key
from labrun.shared.storage.artifacts import get_store
from labrun.shared.storage.broker import client_app, make_celery
from labrun.shared.storage.db.models import Datapoint, Dataset, Run
from labrun.shared.storage.db.session import Database, session_scope
from labrun.worker import liveness
from labrun.worker.context import WorkerContext
from labrun.worker.dispatch import dispatch_run
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy
from tests.services import PrivateRedis, redis_client

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[2] / "examples"
CSV = (EXAMPLES / "bigbasket-300.csv").read_bytes()


@pytest.fixture
def world(settings_env, tmp_path, monkeypatch, project_key):
    broker = PrivateRedis(tmp_path)
    broker.start()
    monkeypatch.setenv("LABRUN_REDIS_URL", broker.url)
    monkeypatch.setenv("LABRUN_API_DEFER_UPLOAD_MB", "0.01")  # 10 KB: the 300-row sample is deferred
    get_settings.cache_clear()
    get_store.cache_clear()
    client_app.cache_clear()
    db = Database.from_settings(get_settings())
    client = redis_client(broker.url)
    app = make_celery("test-deferred")
    ctx = WorkerContext(get_settings(), db, client, get_store(), Limiter(client, prefix="t"), RetryPolicy())
    liveness.beat(client, "worker-1", 10)
    with TestClient(create_app(), headers=project_key.headers) as api:
        yield api, ctx, app
    app.close()
    db.dispose()
    client_app.cache_clear()
    get_store.cache_clear()
    broker.stop()


def post(api: TestClient, data: bytes, name: str = "big.csv", **form):
    return api.post("/runs", files={"file": (name, data, "text/csv")}, data={"model": "fake", **form})


def run_row(run_id: str) -> Run:
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None
        s.expunge(run)
        return run


def runs_count() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Run))


def datapoints_of(run: Run) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).where(Datapoint.dataset_id == run.dataset_id))


def test_the_post_answers_before_the_rows_are_read_and_dispatch_fills_the_run_in(world):
    api, ctx, app = world
    answer = post(api, CSV, limit="250", experiment="deferred-demo")
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["rows_pending"] is True and body["n_total"] == 0 and body["status"] == "queued"
    assert "background" in body["warnings"][0]
    pending = run_row(body["run_id"])
    assert pending.n_total == 0 and datapoints_of(pending) == 0
    shown = api.get(f"/runs/{body['run_id']}").json()  # readable meanwhile, and not "done"
    assert shown["counts"]["total"] == 0 and shown["progress"] == 0.0 and not shown["final"]

    assert dispatch_run(ctx, app, body["run_id"]) == 250
    run = run_row(body["run_id"])
    assert run.status == "running" and run.n_total == 250 and datapoints_of(run) == 250  # limit: 250
    assert "deferred" not in run.config and run.config["taxonomy"]  # the use case's snapshot
    assert run.config["dataset"] == {"name": "big.csv", "source": "big.csv"}
    assert [e["action"] for e in run.events][:1] == ["read the upload's rows"]
    with session_scope() as s:  # the placeholder dataset is gone
        assert s.scalar(select(func.count()).where(Dataset.content_sha256.like("deferred:%"))) == 0
    uploaded = get_store().find(f"runs/{body['run_id']}/upload/big.csv")
    assert uploaded is not None and uploaded[1] == CSV  # kept as the run's input
    assert dispatch_run(ctx, app, body["run_id"]) == 0  # a second dispatch finds it started


def test_a_bad_row_fails_the_run_naming_file_row_and_field(world):
    api, ctx, app = world
    rows = list(csv.DictReader(io.StringIO(CSV.decode())))
    rows[2]["title"] = ""  # row 3 has no title
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode()
    answer = post(api, data, name="broken.csv")
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]

    assert dispatch_run(ctx, app, run_id) == 0
    run = run_row(run_id)
    assert run.status == "failed" and run.finished_at is not None
    assert "file 'broken.csv'" in run.error and "row 3" in run.error and "title" in run.error, run.error
    assert run.n_total == 0 and datapoints_of(run) == 0  # nothing half-created
    assert run.events[-1]["action"] == "rejected the upload"
    assert ctx.redis.llen("labrun.predict") == 0
    shown = api.get(f"/runs/{run_id}").json()
    assert shown["status"] == "failed" and "row 3" in shown["error"]


def test_everything_but_the_rows_is_still_checked_in_the_request(world):
    api, _, _ = world
    before = runs_count()
    bad_model = post(api, CSV, model="no-such-alias")
    assert bad_model.status_code == 422 and bad_model.json()["detail"][0]["loc"][-1] == "model"
    bad_limit = post(api, CSV, limit="0")
    assert bad_limit.status_code == 422 and bad_limit.json()["detail"][0]["loc"] == ["body", "limit"]
    assert runs_count() == before  # neither created a run


@pytest.mark.parametrize(
    ("name", "kept_as"),
    [("big.csv", "big.csv"), ("../../etc/passwd", "passwd"), ("..", "upload"), ("a\\b.csv", "b.csv")],
)
def test_the_client_file_name_never_leaves_the_runs_upload_folder(name, kept_as):
    assert upload_key("r-1", name) == f"runs/r-1/upload/{kept_as}"


def test_an_upload_missing_from_the_store_fails_the_run_saying_what_to_share(world, tmp_path):
    api, ctx, app = world
    run_id = post(api, CSV).json()["run_id"]
    stored = get_store().find(f"runs/{run_id}/upload/big.csv")
    assert stored is not None
    Path(
        unquote(stored[0].removeprefix("file://"))
    ).unlink()  # a worker on another host, without the API's directory
    assert dispatch_run(ctx, app, run_id) == 0
    run = run_row(run_id)
    assert run.status == "failed" and "LABRUN_ARTIFACTS_URL" in run.error and datapoints_of(run) == 0
