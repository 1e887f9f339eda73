"""Artifact storage: raw provider responses and exports, in S3 (boto3; AWS or MinIO) or a local dir.

Keys are relative (``runs/<run_id>/raw/<datapoint>.json``); ``put`` returns the object's URI
(``s3://bucket/prefix/key`` or ``file:///abs/path``), which is what prediction rows store.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from labrun.shared.storage.store import ArtifactStore

__all__ = ["ArtifactStore", "LocalStore", "get_store", "open_store", "raw_key", "raw_prefix"]


class LocalStore(ArtifactStore):
    """A directory. Keys are checked lexically (no ``..``, not absolute), not with ``resolve()``:
    resolving walked every component with a syscall each and was a third of a warm run's worker
    time (docs/benchmarks.md); the store writes no symlinks and a key comes from labrun."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.url = str(self.root)
        self._base = str(self.root)
        self._tmp = itertools.count()
        self._token = uuid.uuid4().hex[:8]  # hosts may share the directory

    def _file(self, key_or_uri: str) -> str:
        if key_or_uri.startswith("file://"):
            return unquote(urlparse(key_or_uri).path)
        path = os.path.normpath(os.path.join(self._base, key_or_uri))
        if not path.startswith(self._base + os.sep):
            raise ValueError(f"artifact key escapes the store: {key_or_uri!r}")
        return path

    def _path(self, key_or_uri: str) -> Path:
        return Path(self._file(key_or_uri))

    def put(self, key: str, data: bytes, content_type: str = "application/json") -> str:
        path = self._file(key)
        parent = os.path.dirname(path)
        # write-then-rename: a crash never leaves a half-written object (the temporary name is
        # unique per store, process and call, so concurrent writers of one key never share it)
        tmp = os.path.join(parent, f".tmp-{self._token}-{os.getpid()}-{next(self._tmp)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:
            os.makedirs(parent, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return "file://" + quote(path)

    def get(self, key_or_uri: str) -> bytes:
        with open(self._file(key_or_uri), "rb") as f:
            return f.read()

    def find(self, key: str) -> tuple[str, bytes] | None:
        path = self._file(key)
        try:
            with open(path, "rb") as f:
                return "file://" + quote(path), f.read()
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
