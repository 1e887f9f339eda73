"""Artifact storage: raw provider responses and exports, in S3 (boto3; AWS or MinIO) or a local dir.

Keys are relative (``runs/<run_id>/raw/<datapoint>.json``); ``put`` returns the object's URI
(``s3://bucket/prefix/key`` or ``file:///abs/path``), which is what prediction rows store.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from labrun.shared.storage.store import ArtifactStore

__all__ = ["ArtifactStore", "LocalStore", "get_store", "open_store", "raw_key", "raw_prefix"]


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

    def find(self, key: str) -> tuple[str, bytes] | None:
        path = self._path(key)
        try:
            return path.as_uri(), path.read_bytes()
        except FileNotFoundError:
            return None

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if base.is_dir():
            for p in sorted(base.rglob("*")):
                if p.is_file() and not p.name.startswith(".tmp-"):
                    yield p.relative_to(self.root).as_posix()


def open_store(url: str, endpoint_url: str | None = None) -> ArtifactStore:
    if url.startswith("s3://"):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"LABRUN_ARTIFACTS_URL {url!r} has no bucket")
        from labrun.shared.storage.s3 import S3Store, s3_client

        return S3Store(parsed.netloc, parsed.path, s3_client(endpoint_url))
    if url.startswith("file://"):
        url = unquote(urlparse(url).path)
    return LocalStore(Path(url))


@lru_cache(maxsize=1)
def get_store() -> ArtifactStore:
    """The process-wide store, built once from settings."""
    from labrun.shared.core.config import get_settings

    settings = get_settings()
    return open_store(settings.artifacts_location(), settings.s3_endpoint_url)


def raw_prefix(run_id: str) -> str:
    """Where a run's raw provider responses live in the store."""
    return f"runs/{run_id}/raw/"


def raw_key(run_id: str, external_id: str) -> str:
    """The one key layout of a datapoint's raw response (the datapoint id is URL-quoted)."""
    return f"{raw_prefix(run_id)}{quote(external_id, safe='')}.json"
