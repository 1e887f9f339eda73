"""What a run records about where it ran: versions, git commit, endpoints. Never secrets."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from labrun.shared.core.providers import endpoint_variables, sdk_packages

PACKAGES = (
    "labrun",
    "celery",
    "kombu",
    "redis",
    "sqlalchemy",
    "psycopg",
    "alembic",
    "fastapi",
    "pydantic",
    "boto3",
    "httpx",
    *sdk_packages(),
)
ENDPOINT_VARS = endpoint_variables()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def strip_credentials(url: str) -> str:
    """Drop user:password and the query string (which may carry tokens)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def system_info() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "packages": {name: _version(name) for name in PACKAGES},
        "git_commit": git_commit(),
        "endpoints": {v: strip_credentials(os.environ[v]) for v in ENDPOINT_VARS if os.environ.get(v)},
    }
