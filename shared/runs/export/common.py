"""Shared pieces of the run export: secret redaction, the export context, JSON and text writers."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from labrun.shared.storage.db.models import Datapoint, Run
from labrun.shared.storage.db.queries import run_datapoints

# Rows fetched per round trip when streaming (server-side cursor via ``yield_per``).
YIELD_PER = 2000
REDACTED = "[REDACTED]"
MISSING = "missing"  # status of a datapoint without a prediction row
MIN_SECRET_LEN = 8

_SECRET_MARKERS = ("key", "secret", "token", "password", "passwd", "credential", "authorization")
# Token *counts* and rate limits are not secrets: prompt_tokens, max_tokens, tokens_per_min, ...
_TOKEN_COUNT = re.compile(
    r"^(?:(?:prompt|completion|total|input|output|max|cached|reasoning)_)?tokens(?:_per_(?:min|s|day))?$"
)


class ExportError(RuntimeError):
    """The export could not be written (or would have leaked a secret)."""


def is_secret_name(name: str) -> bool:
    """True for key names that may hold credentials (``api_key``, ``token``, ``db_password``...)."""
    low = name.lower().replace("-", "_")
    if _TOKEN_COUNT.match(low) or low.endswith("_env"):  # ``api_key_env`` names a variable, holds no key
        return False
    return any(marker in low for marker in _SECRET_MARKERS)


def env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Values of secret-looking environment variables (``OPENAI_API_KEY``...), longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_name(k) and len(v.strip()) >= MIN_SECRET_LEN}
    return tuple(sorted(values, key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of a secret value replaced by ``[REDACTED]``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(obj: Any, secrets: Iterable[str] | None = None) -> Any:
    """A deep copy of ``obj`` without secret-named keys, and with known secret values masked.

    ``secrets`` defaults to the values of secret-looking environment variables.
    """
    values = tuple(env_secrets() if secrets is None else secrets)

    def walk(o: Any) -> Any:
        if isinstance(o, Mapping):
            return {k: walk(v) for k, v in o.items() if not is_secret_name(str(k))}
        if isinstance(o, list | tuple):
            return [walk(v) for v in o]
        if isinstance(o, str):
            return scrub(o, values)
        return o

    return walk(obj)


def json_default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o)
    if isinstance(o, datetime | date):
        return o.isoformat()
    if isinstance(o, set | frozenset):
        return sorted(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def num(value: Decimal | float | int | None) -> float | None:
    return float(value) if value is not None else None


@dataclass
class Export:
    """One export in progress: the run, the directory being written, the files written so far."""

    session: Session
    run: Run
    root: Path
    secrets: tuple[str, ...]
    files: list[str] = field(default_factory=list)

    def path(self, rel: str) -> Path:
        """Absolute path of ``rel`` (parent created); records it as written."""
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel not in self.files:
            self.files.append(rel)
        return p

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets) if self.secrets else text

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def config(self) -> dict[str, Any]:
        return self.run.config

    def datapoints(self) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        """(external id, inputs, expected) of the run's datapoints in dataset order, streamed."""
        stmt = run_datapoints(self.run, Datapoint.external_id, Datapoint.inputs, Datapoint.expected)
        for ext, inputs, expected in self.session.execute(stmt.execution_options(yield_per=YIELD_PER)):
            yield str(ext), dict(inputs), expected

    def redact(self, obj: Any) -> Any:
        return redact(obj, self.secrets)

    def write_json(self, rel: str, obj: Any) -> None:
        """Write ``redact(obj)`` as indented JSON."""
        text = json.dumps(self.redact(obj), indent=2, ensure_ascii=False, default=json_default)
        self.path(rel).write_text(text + "\n", encoding="utf-8")

    def write_text(self, rel: str, text: str) -> None:
        self.path(rel).write_text(self.scrub(text), encoding="utf-8")


def find_secret(root: Path, secrets: Iterable[str], chunk: int = 1 << 20) -> tuple[Path, int] | None:
    """The first file under ``root`` containing a secret value, and which secret (index), if any."""
    needles = [s.encode() for s in secrets]
    if not needles:
        return None
    overlap = max(len(n) for n in needles)
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        with p.open("rb") as f:
            tail = b""
            while block := f.read(chunk):
                window = tail + block
                for i, needle in enumerate(needles):
                    if needle in window:
                        return p, i
                tail = window[-overlap:]
    return None
