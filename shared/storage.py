"""Artifact storage: raw provider responses and exports, in S3 (boto3; AWS or MinIO) or a local dir.

Keys are relative (``runs/<run_id>/raw/<datapoint>.json``); ``put`` returns the object's URI
(``s3://bucket/prefix/key`` or ``file:///abs/path``), which is what prediction rows store.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class ArtifactStore(ABC):
    url: str

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        """Write ``data`` at ``key`` (overwrite) and return its URI."""

    @abstractmethod
    def get(self, key_or_uri: str) -> bytes: ...

    @abstractmethod
    def keys(self, prefix: str) -> Iterator[str]:
        """Relative keys under ``prefix``."""


class LocalStore(ArtifactStore):
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.url = str(self.root)

    def _path(self, key_or_uri: str) -> Path:
        if key_or_uri.startswith("file://"):
            return Path(unquote(urlparse(key_or_uri).path))
        path = (self.root / key_or_uri).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"artifact key escapes the store: {key_or_uri!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # write-then-rename: a crash never leaves a half-written object
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return path.as_uri()

    def get(self, key_or_uri: str) -> bytes:
        return self._path(key_or_uri).read_bytes()

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.is_file() and not p.name.startswith(".tmp-"):
                    yield p.relative_to(self.root).as_posix()


class S3Store(ArtifactStore):
    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self.client = bucket, prefix.strip("/"), client
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, key_or_uri: str) -> str:
        if key_or_uri.startswith("s3://"):
            return urlparse(key_or_uri).path.lstrip("/")
        return f"{self.prefix}/{key_or_uri}" if self.prefix else key_or_uri

    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        full = self._key(key)
        self.client.put_object(Bucket=self.bucket, Key=full, Body=data, ContentType=content_type)
        return f"s3://{self.bucket}/{full}"

    def get(self, key_or_uri: str) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key_or_uri))["Body"]
        return bytes(body.read())

    def keys(self, prefix: str) -> Iterator[str]:
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                yield obj["Key"][strip:]


def s3_client(endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=128,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


def open_store(url: str, endpoint_url: str | None = None) -> ArtifactStore:
    if url.startswith("s3://"):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"LABRUN_ARTIFACTS_URL {url!r} has no bucket")
        return S3Store(parsed.netloc, parsed.path, s3_client(endpoint_url))
    if url.startswith("file://"):
        url = unquote(urlparse(url).path)
    return LocalStore(Path(url))


@lru_cache(maxsize=1)
def get_store() -> ArtifactStore:
    """The process-wide store, built once from settings."""
    from shared.config import get_settings

    settings = get_settings()
    return open_store(settings.artifacts_location(), settings.s3_endpoint_url)
