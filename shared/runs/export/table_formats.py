"""Encode a streamed table as Parquet, CSV or JSON Lines, a batch at a time, as bytes.

One path for files and HTTP: :func:`encode` yields the bytes of each batch as soon as it is
written (Parquet: one row group per batch, the footer at the end), so neither the CLI nor the API
ever holds a whole table. Types: text, 64-bit integers, doubles (``numeric`` too), booleans,
timestamps in UTC; JSON columns (``details``, ``request``, ``extra``) are JSON text in Parquet and
CSV (DuckDB: ``details->>'parse_method'``; pandas: ``json.loads``) and nested objects in JSON Lines.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, Literal

from labrun.shared.runs.export.columns import Kind
from labrun.shared.runs.export.table_rows import TableRows

TableFormat = Literal["parquet", "csv", "jsonl"]
FORMATS: tuple[TableFormat, ...] = ("parquet", "csv", "jsonl")
MEDIA_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
}


def _arrow_types(pa: Any) -> dict[Kind, Any]:
    """pyarrow is imported only when a table is written (about 40 MB the API and CLI do not need
    otherwise)."""
    return {
        "text": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),
    }


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after each batch; ``tell`` counts them all
    (Parquet records column-chunk offsets from it)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self._chunks.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        out, self._chunks = b"".join(self._chunks), []
        return out


def encode(table: TableRows, fmt: TableFormat) -> Iterator[bytes]:
    """The table's bytes in ``fmt``, one chunk per batch (empty chunks skipped)."""
    if fmt == "jsonl":
        yield from _jsonl(table)
        return
    if fmt not in FORMATS or table.json_lines:
        raise ValueError(f"unknown format {fmt!r}, or rows read as JSON lines: one of {', '.join(FORMATS)}")
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    types = _arrow_types(pa)
    schema = pa.schema([(c.name, types[c.kind]) for c in table.columns])
    sink = _Drain()
    writer = pq.ParquetWriter(sink, schema) if fmt == "parquet" else pa_csv.CSVWriter(sink, schema)
    try:
        for batch in table.batches:
            columns = zip(*batch, strict=True)  # rows -> columns
            arrays = [pa.array(values, type=t) for values, t in zip(columns, schema.types, strict=True)]
            writer.write_batch(pa.record_batch(arrays, schema=schema))
            if chunk := sink.take():
                yield chunk
    finally:
        writer.close()
    if chunk := sink.take():
        yield chunk


def _jsonl(table: TableRows) -> Iterator[bytes]:
    if not table.json_lines:
        raise ValueError("JSON Lines need the rows read with json_lines=True")
    for batch in table.batches:
        yield "".join(f"{row[0]}\n" for row in batch).encode()
