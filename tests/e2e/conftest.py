"""End-to-end fixtures: labrun configured like production (Postgres, Redis, S3 on moto) plus
real ``labrun worker`` processes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from tests.workers import purge_queues, worker_process

MODELS = yaml.safe_load((Path(__file__).resolve().parents[2] / "shared/core/models.yaml").read_text())
MODELS["models"].update(
    {
        # every 4th-ish datapoint fails with a non-retried error
        "fake_bad": {
            "provider": "fake",
            "model": "fake-bad",
            "price_per_1m": {"input": 0.1, "output": 0.1},
            "options": {"fail_rate": 0.25, "fail_with": "bad_request"},
        },
        # 50 ms per call, so a run can be cancelled half-way
        "fake_slow": {
            "provider": "fake",
            "model": "fake-slow",
            "price_per_1m": {"input": 0.1, "output": 0.1},
            "options": {"latency_ms": 50},
        },
        # fails with 5xx on the first two calls of each datapoint, then succeeds
        "fake_flaky": {
            "provider": "fake",
            "model": "fake-flaky",
            "price_per_1m": {"input": 0.1, "output": 0.1},
            "options": {"fail_rate": 1.0, "fail_with": "server_error", "fail_attempts": 2},
        },
    }
)


@pytest.fixture(scope="module")
def fake_llm_url():
    """The project's fake LLM server (OpenAI and Anthropic wire formats) on loopback."""
    from labrun.shared.testing.fake_llm_server.run import FakeServerConfig, running_server

    with running_server(FakeServerConfig(latency_s=0.01)) as url:
        yield url


@pytest.fixture(scope="module")
def e2e_env(database_url, redis_url, s3_endpoint, fake_llm_url, tmp_path_factory):
    """Environment shared by the test process and its worker processes."""
    tmp = tmp_path_factory.mktemp("e2e")
    models_file = tmp / "models.yaml"
    models_file.write_text(yaml.safe_dump(MODELS))
    bucket = f"labrun-{uuid.uuid4().hex[:8]}"
    env = {
        "LABRUN_DATABASE_URL": database_url,
        "LABRUN_REDIS_URL": redis_url,
        "LABRUN_ARTIFACTS_URL": f"s3://{bucket}/artifacts",
        "LABRUN_S3_ENDPOINT_URL": s3_endpoint,
        "LABRUN_MODELS_FILE": str(models_file),
        "LABRUN_HOME": str(tmp / "home"),
        "LABRUN_RETRY_BASE_DELAY_S": "0.05",
        "LABRUN_RETRY_MAX_DELAY_S": "0.2",
        "LABRUN_FINALIZE_GRACE_S": "5",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OPENAI_API_KEY": "sk-test-not-a-real-key",
        "OPENAI_BASE_URL": f"{fake_llm_url}/v1",
        "ANTHROPIC_BASE_URL": fake_llm_url,
        "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
    }
    import boto3

    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return env


@pytest.fixture
def labrun_env(e2e_env, monkeypatch):
    """Point the test process itself at the same services."""
    from labrun.shared.core.config import get_settings
    from labrun.shared.storage.artifacts import get_store
    from labrun.shared.storage.db import session

    for k, v in e2e_env.items():
        monkeypatch.setenv(k, v)
    for cached in (get_settings, get_store):
        cached.cache_clear()
    session.reset()
    from labrun.shared.storage.broker import client_app

    client_app.cache_clear()
    yield e2e_env
    for cached in (get_settings, get_store, client_app):
        cached.cache_clear()
    session.reset()


@pytest.fixture(scope="module")
def worker(e2e_env, tmp_path_factory):
    purge_queues(e2e_env["LABRUN_REDIS_URL"])
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    with worker_process(e2e_env, concurrency=32, log=log) as proc:
        yield proc
    purge_queues(e2e_env["LABRUN_REDIS_URL"])


# fixtures for tests that drive workers against the fake LLM server over HTTP
from tests.e2e.http_support import http_env, labrun, server  # noqa: E402, F401
