"""The artifact stores against a directory and S3 (moto over HTTP): put, get, find, keys."""

from __future__ import annotations

import uuid

import boto3
import pytest

from labrun.shared.storage.artifacts import open_store, raw_key

pytestmark = pytest.mark.integration


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return open_store(str(tmp_path / "artifacts"))
    endpoint = request.getfixturevalue("s3_endpoint")
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    bucket = f"labrun-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return open_store(f"s3://{bucket}/prefix", endpoint)


def test_find_returns_the_uri_and_bytes_or_none(store):
    key = raw_key("run-1", "a/b c")
    assert store.find(key) is None
    uri = store.put(key, b'{"x": 1}')
    assert store.find(key) == (uri, b'{"x": 1}')
    assert store.get(uri) == b'{"x": 1}' and list(store.keys("runs/run-1/raw/")) == [
        "runs/run-1/raw/a%2Fb%20c.json"
    ]
