"""The artifact store restarts mid-run (its data kept, as MinIO or S3 keep it): every connection
drops and the endpoint refuses new ones for a while. Answers received during the outage are kept
in the re-scheduled task and stored when the store is back, never paid again; every datapoint
ends with one row and one raw object."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.e2e.crash_support import forget_clients, one_row_each, point_at, submit_rows, wait_rows
from tests.e2e.http_support import configure, stats
from tests.helpers import raw_keys, wait_run
from tests.services import TcpProxy
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e
OUTAGE_S = 10.0


@pytest.fixture
def restarting_store(http_env, s3_endpoint, monkeypatch):
    proxy = TcpProxy(int(s3_endpoint.rsplit(":", 1)[1]))
    proxy.start()
    boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket="restarting")  # fmt: skip
    env = {
        **http_env,
        "LABRUN_ARTIFACTS_URL": "s3://restarting/labrun",
        "LABRUN_S3_ENDPOINT_URL": proxy.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    point_at(env, monkeypatch)
    yield proxy, env
    proxy.stop()
    forget_clients()


def test_an_s3_restart_mid_run_loses_nothing_and_pays_nothing_twice(restarting_store, server, tmp_path):
    from labrun.shared.storage.artifacts import get_store

    proxy, env = restarting_store
    purge_queues(env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.2)
    n = 300
    with worker_process(env, concurrency=20, name="w", log=tmp_path / "w.log"):
        run_id = submit_rows(n, "s3")
        wait_rows(run_id, 60)
        proxy.stop()  # the store goes down: open connections drop, new ones are refused
        time.sleep(OUTAGE_S)
        proxy.start()
        back_at = time.time()
        run = wait_run(run_id, timeout=120, settled=True)
    one_row_each(run_id, n)
    assert run.status == "succeeded"  # the outage was retried, never recorded as errors
    get_store.cache_clear()
    assert len(raw_keys(run_id)) == n
    extra = stats(server)["ok"] - n
    print(f"\nS3 restart ({OUTAGE_S:.0f}s down): run finished {run.finished_at.timestamp() - back_at:.1f}s "
          f"after it came back; {extra} calls paid twice")  # fmt: skip
    assert extra == 0
