"""export_run against a real migrated Postgres and a local (or moto S3) artifact store.

The run is built directly in the database: create_run, then hand-written prediction rows (correct,
wrong, failed, and one datapoint left without a row), then the SQL metrics.
"""

from __future__ import annotations

import csv
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import insert, select, update

from labrun.shared.core.catalog import parse_catalog
from labrun.shared.core.errors import NotFound
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.create import create_run
from labrun.shared.runs.export import export_run, redact
from labrun.shared.runs.export.common import find_secret
from labrun.shared.runs.export.outputs import CSV_COLUMNS
from labrun.shared.runs.metrics import compute_metrics
from labrun.shared.storage.artifacts import get_store
from labrun.shared.storage.db.models import Datapoint, Dataset, Metric, Prediction, Run
from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases import registry
from labrun.shared.usecases.assign_cat.prompt import DEFAULT_SYSTEM, DEFAULT_USER
from labrun.shared.usecases.assign_cat.schemas import ProductRow
from labrun.shared.usecases.assign_cat.taxonomy import Taxonomy

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[2] / "examples"
CATALOG = EXAMPLES / "bigbasket-300.csv"
SECRET = "sk-test-secret-value"
N_ROWS = 10
LAYOUT = {
    "inputs/products.json",
    "inputs/taxonomy.txt",
    "inputs/prompt_templates.json",
    "config/models.yaml",
    "config/run_config.json",
    "config/system_info.json",
    "outputs/classifications.csv",
    "outputs/token_usage.json",
    "outputs/timing.json",
    "outputs/errors.log",
    "metadata/run_summary.json",
}
# position -> what the fixture writes for it
CORRECT, WRONG, FAILED = range(0, 5), range(5, 7), range(7, 9)
MISSING_POS = 9
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def catalog_rows(n: int) -> list[ProductRow]:
    with CATALOG.open(newline="", encoding="utf-8") as f:
        return [ProductRow.model_validate(r) for r in itertools.islice(csv.DictReader(f), n)]


@dataclass
class BuiltRun:
    run_id: str
    rows: list[ProductRow]
    config: dict
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    latencies: list[float]
    raw: dict[str, bytes]


@pytest.fixture
def env(settings_env, monkeypatch):
    """Test services, plus a provider key in the environment that must never be exported."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    get_store.cache_clear()
    yield settings_env
    get_store.cache_clear()


def _prediction(run_id: str, dp_id: int, pos: int, expected: str, wrong: str) -> dict:
    started = T0 + timedelta(seconds=pos)
    row = {
        "run_id": run_id,
        "datapoint_id": dp_id,
        "expected": expected,
        "details": {"expected_path": expected.split(" > ")},
        "latency_ms": 100.0 * (pos + 1),
        "started_at": started,
        "finished_at": started + timedelta(milliseconds=100 * (pos + 1)),
        "worker_hostname": "worker-1",
        "raw_uri": f"file:///raw/{pos}.json",
    }
    if pos in FAILED:
        message = "HTTP 500 from provider\nupstream overloaded"
        if pos == FAILED[-1]:  # a provider echoing the key back must not leak it
            message = f"Incorrect API key provided: {SECRET}"
        return row | {
            "status": "failed",
            "attempts": 3,
            "error_type": "server_error",
            "error_message": message,
        }
    parsed = expected if pos in CORRECT else wrong
    return row | {
        "status": "succeeded",
        "attempts": 1,
        "parsed": parsed,
        "details": {
            "expected_path": expected.split(" > "),
            "parsed_path": parsed.split(" > "),
            "parse_method": "exact",
        },
        "correct": parsed == expected,
        "finish_reason": "stop",
        "prompt_tokens": 100 + pos,
        "completion_tokens": 5 + pos,
        "cost_usd": Decimal(100 + pos) * Decimal("0.00000015") + Decimal(5 + pos) * Decimal("0.0000006"),
        "response_model": "fake-keyword-1",
        "provider_request_id": f"req-{pos}",
    }


@pytest.fixture
def built(env) -> BuiltRun:
    rows = catalog_rows(N_ROWS)
    req = RunCreate(model="fake", rows=rows, experiment="export-test", dataset_name="bigbasket-10")
    with session_scope() as s:
        run = create_run(s, req, source=str(CATALOG))
        run_id = run.id
        # a key pasted into models.yaml options ends up in the snapshot: it must be dropped on export
        config = json.loads(json.dumps(run.config))
        config["model"]["options"]["api_key"] = SECRET
        dps = s.execute(
            select(Datapoint.id, Datapoint.position, Datapoint.expected)
            .where(Datapoint.dataset_id == run.dataset_id)
            .order_by(Datapoint.position)
        ).all()
    paths = config["taxonomy"]["paths"]
    values = []
    for dp_id, pos, expected in dps:
        if pos == MISSING_POS:
            continue
        wrong = next(p for p in paths if p != expected)
        values.append(_prediction(run_id, dp_id, pos, expected, wrong))
    with session_scope() as s:
        s.execute(insert(Prediction), values)
        s.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                config=config,
                status="partial",
                started_at=T0,
                finished_at=T0 + timedelta(seconds=20),
                n_succeeded=7,
                n_failed=2,
            )
        )
    with session_scope() as s:
        assert compute_metrics(s, run_id, registry.get("assign-cat")) >= 2
    store = get_store()
    raw = {
        f"runs/{run_id}/raw/{rows[0].id}.json": json.dumps({"response": {"text": "ok"}}).encode(),
        f"runs/{run_id}/raw/{rows[7].id}.json": json.dumps({"error": {"message": "boom"}}).encode(),
        f"runs/{run_id}/raw/nested/{rows[1].id}.json": b'{"n": 1}',
    }
    for key, data in raw.items():
        store.put(key, data)
    ok = [v for v in values if v["status"] == "succeeded"]
    return BuiltRun(
        run_id=run_id,
        rows=rows,
        config=config,
        prompt_tokens=sum(v["prompt_tokens"] for v in ok),
        completion_tokens=sum(v["completion_tokens"] for v in ok),
        cost_usd=sum((v["cost_usd"] for v in ok), Decimal(0)),
        latencies=sorted(v["latency_ms"] for v in values),
        raw=raw,
    )


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def percentile_cont(values: list[float], q: float) -> float:
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def test_export_layout_and_contents(built: BuiltRun, tmp_path: Path) -> None:
    out = export_run(built.run_id, tmp_path / "exports")

    assert out == tmp_path / "exports" / built.run_id
    assert files_under(out) == LAYOUT
    for rel in LAYOUT:
        assert (out / rel).stat().st_size > 0, rel
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [built.run_id]  # no temp dirs left

    ids = [r.id for r in built.rows]

    products = read_json(out / "inputs/products.json")
    assert [p["id"] for p in products] == ids
    assert products[0] == {
        "id": built.rows[0].id,
        "title": built.rows[0].title,
        "description": built.rows[0].description,
        "brand": built.rows[0].brand,
        "category": built.rows[0].category,
    }

    taxonomy_text = (out / "inputs/taxonomy.txt").read_text()
    assert built.config["taxonomy"]["sha256"] in taxonomy_text.splitlines()[2]
    body = [line for line in taxonomy_text.splitlines() if not line.startswith("#")]
    assert body[0].startswith("1 - ") and body[-1].startswith(f"{len(body)} - ")
    reparsed = Taxonomy.from_google_text(taxonomy_text)
    assert list(reparsed.paths) == built.config["taxonomy"]["paths"]
    assert reparsed.sha256 == built.config["taxonomy"]["sha256"]

    prompt = read_json(out / "inputs/prompt_templates.json")
    assert prompt == {
        "system": DEFAULT_SYSTEM,
        "user": DEFAULT_USER,
        "max_candidates": 300,
        "variables": ["brand", "categories", "description", "title"],
    }

    models = yaml.safe_load((out / "config/models.yaml").read_text())
    assert models["default"] == "fake" and list(models["models"]) == ["fake"]
    spec = models["models"]["fake"]
    assert "alias" not in spec and "api_key" not in spec["options"]
    assert spec["options"] == {"latency_ms": 0}
    catalog = parse_catalog(models)
    assert catalog.get(None).model_dump(mode="json") == built.config["model"] | {"options": {"latency_ms": 0}}

    run_config = read_json(out / "config/run_config.json")
    with session_scope() as s:
        dataset = s.scalar(
            select(Dataset).join(Run, Run.dataset_id == Dataset.id).where(Run.id == built.run_id)
        )
        assert dataset is not None
        created_at = s.scalar(select(Run.created_at).where(Run.id == built.run_id))
    assert run_config["run_id"] == built.run_id
    assert run_config["experiment"] == "export-test"
    assert run_config["dataset"]["name"] == "bigbasket-10"
    assert run_config["dataset"]["sha256"] == dataset.content_sha256
    assert run_config["model_alias"] == "fake"
    assert run_config["created_at"] == created_at.isoformat()
    assert run_config["taxonomy"] == {
        "source": built.config["taxonomy"]["source"],
        "sha256": built.config["taxonomy"]["sha256"],
        "count": len(built.config["taxonomy"]["paths"]),
    }
    assert "system" not in run_config
    assert run_config["prompt"]["max_candidates"] == 300
    assert run_config["model"]["price_per_1m"] == {"input": 0.15, "output": 0.6}
    assert "api_key" not in run_config["model"]["options"]

    system = read_json(out / "config/system_info.json")
    assert system["hostname"] == built.config["system"]["hostname"]
    assert system["packages"]["sqlalchemy"]
    assert system["export"]["labrun"] == "0.1.0"
    assert "git_commit" in system["export"] and system["export"]["exported_at"]

    with (out / "outputs/classifications.csv").open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        table = list(reader)
    assert [r["id"] for r in table] == ids
    assert [r["status"] for r in table] == ["succeeded"] * 7 + ["failed"] * 2 + ["missing"]
    assert [r["correct"] for r in table] == ["true"] * 5 + ["false"] * 2 + [""] * 3
    assert all(r["expected"] == row.category for r, row in zip(table, built.rows, strict=True))
    assert table[0]["predicted"] == built.rows[0].category
    assert table[5]["predicted"] not in ("", built.rows[5].category)
    assert table[7]["error_type"] == "server_error" and table[7]["attempts"] == "3"
    assert table[0]["prompt_tokens"] == "100" and table[0]["latency_ms"] == "100.0"
    assert table[0]["started_at"] == T0.isoformat()
    missing = table[MISSING_POS]
    assert missing["title"] == built.rows[MISSING_POS].title
    assert missing["predicted"] == missing["attempts"] == missing["raw_uri"] == ""

    errors = (out / "outputs/errors.log").read_text().splitlines()
    assert len(errors) == 2
    for line, pos in zip(errors, FAILED, strict=True):
        finished = T0 + timedelta(seconds=pos, milliseconds=100 * (pos + 1))
        assert line.startswith(f"{finished.isoformat()} {ids[pos]} server_error attempts=3 ")
    assert errors[0].endswith("HTTP 500 from provider upstream overloaded")
    assert errors[1].endswith("Incorrect API key provided: [REDACTED]")

    usage = read_json(out / "outputs/token_usage.json")
    totals = usage["totals"]
    assert totals["prompt_tokens"] == built.prompt_tokens
    assert totals["completion_tokens"] == built.completion_tokens
    assert totals["total_tokens"] == built.prompt_tokens + built.completion_tokens
    assert totals["cost_usd"] == pytest.approx(float(built.cost_usd))
    assert totals["n"] == 9
    assert usage["by_status"]["succeeded"]["n"] == 7
    assert usage["by_status"]["succeeded"]["prompt_tokens"] == built.prompt_tokens
    failed = {
        "n": 2,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "cost_usd": 0.0,
        "attempts": 6,
    }
    assert usage["by_status"]["failed"] == failed
    assert usage["by_status"]["missing"]["n"] == 1
    assert usage["price_per_1m"] == {"input": 0.15, "output": 0.6}
    assert usage["cost_usd_at_list_prices"] == pytest.approx(float(built.cost_usd))

    timing = read_json(out / "outputs/timing.json")
    assert timing["started_at"] == T0.isoformat()
    assert timing["wall_seconds"] == 20.0
    assert timing["predictions"] == 9
    # the one throughput definition: rows / predictions' span (as in the metrics row)
    assert timing["throughput_per_s"] == pytest.approx(9 / timing["predictions_span_seconds"])
    with session_scope() as s:
        row = s.get(Metric, (built.run_id, "all"))
        assert row is not None and row.throughput_per_s == pytest.approx(timing["throughput_per_s"])
    lat = timing["latency_ms"]
    assert lat["n"] == 9 and lat["max"] == max(built.latencies)
    assert lat["mean"] == pytest.approx(sum(built.latencies) / 9)
    for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        assert lat[key] == pytest.approx(percentile_cont(built.latencies, q))

    summary = read_json(out / "metadata/run_summary.json")
    assert summary["run_id"] == built.run_id and summary["status"] == "partial"
    assert summary["counts"] == {"total": 10, "succeeded": 7, "failed": 2, "missing": 1}
    assert summary["accuracy"] == pytest.approx(5 / 7)
    assert summary["coverage"] == pytest.approx(7 / 9)
    assert summary["cost_usd"] == pytest.approx(float(built.cost_usd))
    segments = [m["segment"] for m in summary["metrics"]]
    assert segments[0] == "all" and any(s.startswith("level1=") for s in segments[1:])
    assert summary["metrics"][0]["errors_by_type"] == {"server_error": 2}
    assert set(summary["files"]) == LAYOUT
    assert summary["raw"]["included"] is False


def test_a_reused_dataset_keeps_each_runs_own_name(built: BuiltRun, tmp_path: Path) -> None:
    req = RunCreate(model="fake", rows=built.rows, experiment="export-test", dataset_name="renamed")
    with session_scope() as s:
        again = create_run(s, req, source="elsewhere.csv")
        again_id, dataset_id = again.id, again.dataset_id
    with session_scope() as s:
        assert dataset_id == s.scalar(select(Run.dataset_id).where(Run.id == built.run_id))  # reused
    again_dir = export_run(again_id, tmp_path)
    first_dir = export_run(built.run_id, tmp_path)
    again_cfg = read_json(again_dir / "config/run_config.json")["dataset"]
    first_cfg = read_json(first_dir / "config/run_config.json")["dataset"]
    assert (again_cfg["name"], again_cfg["source"]) == ("renamed", "elsewhere.csv")
    assert (first_cfg["name"], first_cfg["source"]) == ("bigbasket-10", str(CATALOG))
    assert again_cfg["id"] == first_cfg["id"] and again_cfg["sha256"] == first_cfg["sha256"]


def test_export_never_contains_secrets(built: BuiltRun, tmp_path: Path) -> None:
    out = export_run(built.run_id, tmp_path / "exports", include_raw=True)
    exported = files_under(out)
    assert exported > LAYOUT
    for rel in exported:
        assert SECRET.encode() not in (out / rel).read_bytes(), rel
    # the secret really was there to leak: in the run's config and in an error message
    with session_scope() as s:
        run = s.get(Run, built.run_id)
        assert run is not None and run.config["model"]["options"]["api_key"] == SECRET
        messages = s.scalars(select(Prediction.error_message).where(Prediction.run_id == built.run_id))
        assert any(SECRET in (m or "") for m in messages)


def test_include_raw_copies_raw_objects(built: BuiltRun, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    plain = export_run(built.run_id, exports)
    assert not (plain / "raw").exists()

    # a raw object echoing the key is copied with the key masked
    leaky_key = f"runs/{built.run_id}/raw/{built.rows[8].id}.json"
    get_store().put(leaky_key, json.dumps({"error": f"bad key {SECRET}"}).encode())

    out = export_run(built.run_id, exports, include_raw=True)
    assert out == plain  # re-export replaces the directory in place
    prefix = f"runs/{built.run_id}/raw/"
    raw_files = {rel for rel in files_under(out) if rel.startswith("raw/")}
    assert raw_files == {"raw/" + k[len(prefix) :] for k in [*built.raw, leaky_key]}
    for key, data in built.raw.items():
        assert (out / "raw" / key[len(prefix) :]).read_bytes() == data
    assert json.loads((out / "raw" / f"{built.rows[8].id}.json").read_text()) == {
        "error": "bad key [REDACTED]"
    }
    summary = read_json(out / "metadata/run_summary.json")
    assert summary["raw"] == {"included": True, "objects": 4, "prefix": prefix}
    assert set(summary["files"]) == LAYOUT
    assert sorted(p.name for p in exports.iterdir()) == [built.run_id]


def test_include_raw_from_s3(built: BuiltRun, tmp_path: Path, s3_endpoint: str, monkeypatch) -> None:
    import boto3

    from labrun.shared.core.config import get_settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LABRUN_ARTIFACTS_URL", "s3://labrun-export-test/artifacts")
    monkeypatch.setenv("LABRUN_S3_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="labrun-export-test")
    get_settings.cache_clear()
    get_store.cache_clear()
    store = get_store()
    prefix = f"runs/{built.run_id}/raw/"
    uri = store.put(prefix + "a.json", b'{"s3": true}')
    assert uri.startswith("s3://labrun-export-test/artifacts/")
    store.put(f"runs/{built.run_id}-other/raw/b.json", b"{}")  # another run's prefix: not copied

    out = export_run(built.run_id, tmp_path / "exports", include_raw=True)
    assert {rel for rel in files_under(out) if rel.startswith("raw/")} == {"raw/a.json"}
    assert (out / "raw/a.json").read_bytes() == b'{"s3": true}'


def test_unknown_run_is_not_found(env, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    with pytest.raises(NotFound):
        export_run("assign-cat-no-such-run", exports)
    assert list(exports.iterdir()) == []  # nothing half-written
    with pytest.raises(ValueError, match="directory name"):
        export_run("../escape", exports)


def test_redact_drops_secret_keys_and_masks_values() -> None:
    config = {
        "api_key": "x",
        "model": {
            "options": {"access_token": "t", "temperature": 0, "note": f"key={SECRET}"},
            "limits": {"scope": "key", "tokens_per_min": 10, "input_tokens_per_min": 5},
            "max_tokens": 64,
        },
        "usage": [{"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}],
        "db": {"password": "p", "client_secret": "s", "SecretName": "n", "token": "t"},
    }
    assert redact(config, [SECRET]) == {
        "model": {
            "options": {"temperature": 0, "note": "key=[REDACTED]"},
            "limits": {"scope": "key", "tokens_per_min": 10, "input_tokens_per_min": 5},
            "max_tokens": 64,
        },
        "usage": [{"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}],
        "db": {},
    }


def test_find_secret_scans_across_chunks(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "clean.txt").write_text("nothing here\n")
    assert find_secret(tmp_path, [SECRET]) is None
    # the secret straddles the boundary of two 16-byte reads
    (tmp_path / "a" / "leak.txt").write_text("x" * 10 + SECRET + "y" * 40)
    assert find_secret(tmp_path, ["unrelated-value", SECRET], chunk=16) == (tmp_path / "a" / "leak.txt", 1)
    assert find_secret(tmp_path, []) is None
