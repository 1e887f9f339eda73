"""An artifact store outage delays a run but loses nothing: tasks retry, every datapoint ends
with exactly one row and one raw object."""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
import pytest

from tests.helpers import catalog_rows, prediction_count, wait_run
from tests.services import free_port, wait_for
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e


def test_s3_outage_is_retried_not_recorded_as_errors(database_url, redis_url, tmp_path, monkeypatch):
    from labrun.shared.core.config import get_settings
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.runs.service import submit
    from labrun.shared.storage.artifacts import get_store
    from labrun.shared.storage.broker import client_app
    from labrun.shared.storage.db import session

    port = free_port()  # nothing listens here yet
    env = {
        "LABRUN_DATABASE_URL": database_url,
        "LABRUN_REDIS_URL": redis_url,
        "LABRUN_ARTIFACTS_URL": "s3://outage/labrun",
        "LABRUN_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "LABRUN_HOME": str(tmp_path / "home"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for cached in (get_settings, get_store, client_app):
        cached.cache_clear()
    session.reset()
    purge_queues(redis_url)
    moto = None
    try:
        with worker_process(env, concurrency=8, log=tmp_path / "w.log"):
            created = submit(RunCreate(model="fake", rows=catalog_rows(n=20)), source="test")
            time.sleep(3)  # tasks meet the dead endpoint and re-schedule themselves
            assert prediction_count(created.run_id) == 0
            moto = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
            wait_for(lambda: client.create_bucket(Bucket="outage"), timeout=30)
            run = wait_run(created.run_id, timeout=120)
            assert run.status == "succeeded"  # no error rows: the outage was retried
            assert prediction_count(run.id) == 20
            assert len(list(get_store().keys(f"runs/{run.id}/raw/"))) == 20
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(10)
        for cached in (get_settings, get_store, client_app):
            cached.cache_clear()
        session.reset()
        purge_queues(redis_url)
