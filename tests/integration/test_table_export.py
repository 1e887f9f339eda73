"""The analysis tables (``labrun export RUN --format``, ``GET /runs/{id}/export``) against real
Postgres: two runs written row by row, exported in each format, read back with DuckDB, pyarrow,
csv and json, and the README's DuckDB query run over both runs' exports."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from labrun.api.main import create_app
from labrun.cli.main import app as cli_app
from labrun.shared.client import LabrunAPIError, LabrunClient
from labrun.shared.core.errors import NotFound
from labrun.shared.runs.export import export_run
from labrun.shared.runs.export import table_rows as rows_module
from tests.integration.built_runs import build_run, product

pytestmark = pytest.mark.integration

README = Path(__file__).parents[2] / "README.md"
SECRET = "sk-table-export-secret"
FORMATS = ("parquet", "csv", "jsonl")
# run A: right, wrong, failed (the provider echoed the key), no row, right, right
A_PREDS = [
    {"details": {"expected_path": ["Food", "Snacks"], "parse_method": "fuzzy", "score": 0.9}},
    {"correct": False},
    {"status": "failed", "error_message": f"Incorrect API key provided: {SECRET}", "raw_output": SECRET},
    None,
    {"attempts": 2},
    {},
]


@pytest.fixture
def runs(settings_env, monkeypatch) -> tuple[str, str]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    rows = [product(i, "Acme" if i % 2 else "Bolt") for i in range(6)]
    return build_run(rows, A_PREDS, model="model-a"), build_run(rows, [{}] * 6, model="model-b")


def read_table(path: Path | bytes, fmt: str) -> list[dict]:
    """The rows as Python values, read without pandas: pyarrow, the csv module, json."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data)).to_pylist()
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(data.decode())))
    return [json.loads(line) for line in data.decode().splitlines()]


def test_each_format_reads_back_with_duckdb_and_without_pandas(runs, tmp_path):
    a, _ = runs
    for fmt in FORMATS:
        root = export_run(a, tmp_path / fmt, tables=fmt)
        assert {"inputs", "config", "outputs", "metadata", f"predictions.{fmt}", f"metrics.{fmt}", "run.json"} == {
            p.name for p in root.iterdir()
        }  # fmt: skip
        got = {r["external_id"]: r for r in read_table(root / f"predictions.{fmt}", fmt)}
        assert list(got) == [f"p{i:03d}" for i in range(6)]
        first, wrong, failed, missing = got["p000"], got["p001"], got["p002"], got["p003"]
        assert (first["run_id"], first["input_brand"], first["input_title"]) == (a, "Bolt", "Product 0")
        assert first["expected"] == "Food > Snacks" and wrong["parsed"] == "Wrong > Answer"
        assert str(first["correct"]).lower() == "true" and str(wrong["correct"]).lower() == "false"
        assert (failed["status"], failed["error_type"], missing["status"]) == (
            "failed",
            "server_error",
            "missing",
        )
        assert SECRET not in json.dumps(got, default=str) and "[REDACTED]" in failed["error_message"]
        details = first["details"] if fmt == "jsonl" else json.loads(first["details"])
        assert details == {"expected_path": ["Food", "Snacks"], "parse_method": "fuzzy", "score": 0.9}
        assert float(first["cost_usd"]) == pytest.approx(0.001) and int(got["p004"]["attempts"]) == 2
        metrics = read_table(root / f"metrics.{fmt}", fmt)
        assert [m["segment"] for m in metrics] == ["all", "level1=Food"]
        assert int(metrics[0]["n"]) == 5 and float(metrics[0]["accuracy"]) == pytest.approx(3 / 4)
        meta = json.loads((root / "run.json").read_text())
        assert (meta["run_id"], meta["model_alias"], meta["use_case"], meta["format"]) == (
            a, "model-a", "assign-cat", fmt
        )  # fmt: skip
        assert meta["tables"]["predictions"]["rows"] == 6 and meta["tables"]["metrics"]["rows"] == 2
        assert meta["counts"]["failed"] == 1 and meta["dataset"]["n_rows"] == 6
        table = f"'{root}/predictions.{fmt}'"
        ((n, n_right, fuzzy),) = duckdb.sql(
            f"SELECT count(*), sum(correct::int), count(*) FILTER (WHERE details->>'parse_method' = 'fuzzy')"
            f" FROM {table}"
        ).fetchall()
        assert (n, n_right, fuzzy) == (6, 3, 1)
        kinds = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {table}").fetchall()}
        assert kinds["correct"] == "BOOLEAN" and kinds["finished_at"].startswith("TIMESTAMP")
        assert kinds["cost_usd"] == "DOUBLE" and kinds["attempts"] == "BIGINT"


def test_rows_are_streamed_in_batches(runs, tmp_path, monkeypatch):
    a, _ = runs
    monkeypatch.setattr(rows_module, "YIELD_PER", 2)
    root = export_run(a, tmp_path, tables="parquet")
    assert pq.ParquetFile(root / "predictions.parquet").metadata.num_row_groups == 3  # 6 rows, 2 per batch


def test_the_readme_query_across_two_runs(runs, tmp_path, monkeypatch):
    a, b = runs
    for run_id in (a, b):
        export_run(run_id, tmp_path / "exports", tables="parquet")
    section = README.read_text().split("\n## Analysis", 1)[1]
    query = re.search(r"```sql\n(.+?)```", section, re.S)[1]
    monkeypatch.chdir(tmp_path)
    got = dict(duckdb.sql(query).fetchall())
    assert got == {a: pytest.approx(3 / 4), b: pytest.approx(1.0)}


def test_api_streams_each_table_and_format(runs):
    a, _ = runs
    with TestClient(create_app(auth="off")) as http:
        for fmt in FORMATS:
            for table, n in (("predictions", 6), ("metrics", 2)):
                r = http.get(f"/runs/{a}/export", params={"format": fmt, "table": table})
                assert r.status_code == 200, r.text
                assert r.headers["content-disposition"] == f'attachment; filename="{a}-{table}.{fmt}"'
                assert len(read_table(r.content, fmt)) == n
        assert http.get(f"/runs/{a}/export").headers["content-type"] == "application/vnd.apache.parquet"
        missing = http.get("/runs/no-such-run/export")
        assert missing.status_code == 404 and missing.json()["detail"] == "run no-such-run not found"
        bad = http.get(f"/runs/{a}/export", params={"format": "xlsx"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "format"]
        assert http.get(f"/runs/{a}/export", params={"table": "runs"}).json()["detail"][0]["loc"] == [
            "query", "table"
        ]  # fmt: skip


def test_client_downloads_a_table(runs, tmp_path):
    a, _ = runs
    with TestClient(create_app(auth="off")) as http:
        lab = LabrunClient(http=http)
        path = lab.export_table(a, tmp_path, table="metrics", format="csv")
        assert path.name == f"{a}-metrics.csv" and read_table(path, "csv")[0]["segment"] == "all"
        with pytest.raises(LabrunAPIError) as err:
            lab.export_table("no-such-run", tmp_path / "x.parquet")
        assert err.value.status_code == 404 and not (tmp_path / "x.parquet").exists()


def test_cli_export_formats_and_errors(runs, tmp_path):
    a, _ = runs
    runner = CliRunner()
    plain = runner.invoke(cli_app, ["export", a, "-o", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    assert not (tmp_path / "plain" / a / "predictions.parquet").exists()  # the default is unchanged
    out = runner.invoke(cli_app, ["export", a, "--format", "parquet", "-o", str(tmp_path / "exports")])
    assert out.exit_code == 0, out.output
    assert pq.read_table(tmp_path / "exports" / a / "predictions.parquet").num_rows == 6
    unknown = runner.invoke(cli_app, ["export", "no-such-run", "--format", "csv", "-o", str(tmp_path)])
    assert unknown.exit_code == 2 and "no run 'no-such-run'" in unknown.output
    assert "Traceback" not in unknown.output and isinstance(unknown.exception, SystemExit)
    bad = runner.invoke(cli_app, ["export", a, "--format", "xlsx"])
    assert bad.exit_code == 2 and "--format" in bad.output and "xlsx" in bad.output


def test_unknown_run_is_not_found(settings_env, tmp_path):
    with pytest.raises(NotFound, match="no-such-run"):
        export_run("no-such-run", tmp_path, tables="parquet")
    assert list(tmp_path.iterdir()) == []
