"""Raw records written many to one object, and reading any raw record back by its ``raw_uri``.

A datapoint's own raw record is one object, ``runs/<run>/raw/<quoted id>.json`` (artifacts.py).
Answers recorded in bulk (a warm run answered from the response cache at dispatch) share one
JSON-lines object per batch, ``runs/<run>/raw/batches/<first>-<last>-<token>.jsonl`` (the
batch's first and last datapoint ids, and its writer's token), and each row's ``raw_uri`` names
its line: ``<object uri>#line=<n>`` (0-based, as RFC 5147 counts lines). An object per datapoint
was 43% of a warm run's answering on a local disk (files created one at a time in one directory)
and would be one PUT per hit on S3.

A batch key cannot be a datapoint's key: a ``/`` in a datapoint id is quoted in its own key. A
batch is never overwritten (the writer's token is in its key), so a row's line stays its own even
when two processes answered the same datapoints (a re-delivered dispatch); a batch whose rows lost
that race, or were never written, is still a raw record of the run. Everything under
``runs/<run>/raw/`` is a raw record, so exports copy batches as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labrun.shared.storage.artifacts import raw_prefix
from labrun.shared.storage.store import ArtifactStore

LINE = "#line="


def batch_key(run_id: str, first_datapoint: int, last_datapoint: int, token: str) -> str:
    return f"{raw_prefix(run_id)}batches/{first_datapoint}-{last_datapoint}-{token}.jsonl"


def put_batch(store: ArtifactStore, key: str, records: Sequence[dict[str, Any]]) -> list[str]:
    """Write ``records`` as one JSON-lines object; returns each record's ``raw_uri``, in order."""
    lines = (json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records)
    uri = store.put(key, ("\n".join(lines) + "\n").encode("utf-8"), "application/x-ndjson")
    return [f"{uri}{LINE}{n}" for n in range(len(records))]


def read_raw(store: ArtifactStore, raw_uri: str) -> dict[str, Any]:
    """The raw record a prediction row's ``raw_uri`` points at: a whole object, or one line of a
    batch. A line past the object's end is a ``LookupError``, never another record."""
    uri, sep, line = raw_uri.partition(LINE)
    data = store.get(uri)
    if not sep:
        return dict(json.loads(data))
    n = int(line)
    records = data.decode("utf-8").split("\n")
    if not 0 <= n < len(records) - 1:  # the object ends with a newline
        raise LookupError(f"{raw_uri}: the object has {len(records) - 1} records")
    return dict(json.loads(records[n]))
