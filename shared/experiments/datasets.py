"""An experiment's dataset as the use case's rows: CSV or JSONL through the use case's own reader
(errors name the row and field), Parquet through pyarrow, from the experiment directory, a local
path or S3."""

from __future__ import annotations

import io
import json
from typing import Any

from labrun.shared.experiments.load import Experiment
from labrun.shared.experiments.spec import ExperimentError, infer_format
from labrun.shared.usecases import registry
from labrun.shared.usecases.errors import CatalogError


def read_bytes(exp: Experiment) -> bytes:
    """The dataset file's bytes (raises ExperimentError naming the file when it cannot be read)."""
    ds = exp.spec.dataset
    if ds.location == "s3":
        from labrun.shared.core.config import get_settings
        from labrun.shared.storage.s3 import s3_client

        bucket, _, key = ds.path.removeprefix("s3://").partition("/")
        try:
            obj = s3_client(get_settings().s3_endpoint_url).get_object(Bucket=bucket, Key=key)
            return bytes(obj["Body"].read())
        except Exception as exc:  # no such bucket or key, no credentials, endpoint down
            raise ExperimentError.one(
                ("dataset", "path"), f"cannot read {ds.path}: {exc}", exp.file
            ) from None
    exp.check_dataset()
    from pathlib import Path

    return Path(exp.dataset_location()).read_bytes()


def parquet_as_jsonl(data: bytes, file: str) -> bytes:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise ExperimentError.one(
            ("dataset", "format"), "parquet needs pyarrow (pip install pyarrow)", file
        ) from None
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:
        raise ExperimentError.one(("dataset", "path"), f"not a readable parquet file: {exc}", file) from None
    lines = (json.dumps(row, default=str, ensure_ascii=False) for row in table.to_pylist())
    return "\n".join(lines).encode()


def read_rows(exp: Experiment) -> list[dict[str, Any]]:
    """The dataset's rows, validated by the experiment's use case."""
    ds = exp.spec.dataset
    fmt = ds.format or infer_format(ds.path)
    data = read_bytes(exp)
    if fmt == "parquet":
        data, fmt = parquet_as_jsonl(data, exp.file), "jsonl"
    name = ds.path.rsplit("/", 1)[-1]
    try:
        rows = registry.get(exp.spec.use_case).read_file(data, fmt, name)  # type: ignore[arg-type]
    except CatalogError as exc:
        raise ExperimentError.one(("dataset", "path"), f"{ds.path}: {exc}", exp.file) from None
    return [r if isinstance(r, dict) else r.model_dump() for r in rows]
