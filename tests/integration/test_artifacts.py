"""The artifact stores against a directory and S3 (moto over HTTP): put, get, find, keys."""

from __future__ import annotations

import uuid

import boto3
import pytest

from labrun.shared.storage.artifacts import open_store, raw_key
from labrun.shared.storage.raw_batches import batch_key, put_batch, read_raw

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


@pytest.mark.parametrize("key", ["../outside.json", "runs/../../outside.json", "/etc/passwd"])
def test_a_key_that_leaves_the_directory_is_refused(tmp_path, key):
    store = open_store(str(tmp_path / "artifacts"))
    with pytest.raises(ValueError, match="escapes the store"):
        store.put(key, b"{}")
    assert not (tmp_path / "outside.json").exists()


def test_a_local_put_leaves_no_temporary_file_and_overwrites(tmp_path):
    store = open_store(str(tmp_path / "artifacts"))
    key = raw_key("run-2", "ü 1")
    store.put(key, b"1")
    uri = store.put(key, b"2")
    assert store.get(uri) == b"2" and store.get(key) == b"2"
    assert [p.name for p in (tmp_path / "artifacts/runs/run-2/raw").iterdir()] == ["%C3%BC%201.json"]


def test_a_batch_of_raw_records_is_one_object_and_each_row_reads_its_own_line(store):
    records = [{"datapoint_id": f"dp-{i}", "text": "é\n" * i} for i in range(3)]
    uris = put_batch(store, batch_key("run-3", 10, 12, "t1"), records)
    assert list(store.keys("runs/run-3/raw/")) == ["runs/run-3/raw/batches/10-12-t1.jsonl"]
    assert [read_raw(store, u) for u in uris] == records
    single = store.put(raw_key("run-3", "a/b"), b'{"x": 1}')
    assert read_raw(store, single) == {"x": 1}  # a datapoint's own object reads as before
    with pytest.raises(LookupError, match="has 3 records"):
        read_raw(store, uris[0].replace("#line=0", "#line=3"))
