"""The S3 artifact store (AWS, MinIO or any S3-compatible endpoint), through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from labrun.shared.storage.store import ArtifactStore


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

    def find(self, key: str) -> tuple[str, bytes] | None:
        from botocore.exceptions import ClientError

        full = self._key(key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=full)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return f"s3://{self.bucket}/{full}", bytes(body.read())

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
