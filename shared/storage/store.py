"""The artifact store interface: raw provider responses and exports, by relative key."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator


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

    @abstractmethod
    def find(self, key: str) -> tuple[str, bytes] | None:
        """``(uri, data)`` of the object at ``key``, or None when there is none."""
