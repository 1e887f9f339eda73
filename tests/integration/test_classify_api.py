"""Classify through the HTTP API and the Python client (JSON rows, a file upload with the label set
as a file field), its errors naming the field or row, and its metrics (SQL) and export."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from labrun.api.main import create_app
from labrun.shared.client import LabrunAPIError, LabrunClient
from labrun.shared.runs.export import export_run
from labrun.shared.runs.metrics import compute_metrics
from labrun.shared.storage.db.models import Datapoint, Metric, Prediction, Run
from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases import registry

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).parents[2] / "examples"
SAMPLE, LABELS = EXAMPLES / "flipkart-classify-300.csv", EXAMPLES / "flipkart-labels.txt"


@pytest.fixture
def lab(settings_env, redis_url, project_key):
    from labrun.shared.storage.broker import client_app
    from tests.workers import purge_queues

    purge_queues(redis_url)
    client_app.cache_clear()
    with TestClient(create_app(), headers=project_key.headers) as c:
        yield LabrunClient(http=c)
    client_app.cache_clear()


def run_of(run_id: str) -> Run:
    with session_scope() as s:
        run = s.get(Run, run_id)
        s.expunge(run)
        return run


def test_json_rows_and_inline_labels(lab):
    rows = [{"id": "1", "text": "Leather sandals", "label": "Footwear"}, {"id": "2", "text": "Sofa cushion"}]
    created = lab.submit(rows, model="fake", use_case="classify", options={"labels": ["Footwear", "Home"]})
    assert created["run_id"].startswith("classify-") and created["n_total"] == 2
    run = run_of(created["run_id"])
    assert (run.use_case, run.config["labels"], run.config["columns"]["text"]) == (
        "classify",
        ["Footwear", "Home"],
        ["text"],
    )


def test_file_upload_with_the_label_set_as_a_file(lab):
    created = lab.submit_file(SAMPLE, model="fake", use_case="classify", files={"labels": LABELS}, limit=40)
    run = run_of(created["run_id"])
    assert run.n_total == 40 and len(run.config["labels"]) == 12
    assert run.config["dataset"]["name"] == SAMPLE.name


@pytest.mark.parametrize(
    ("kwargs", "loc", "message"),
    [
        ({"files": {"labels": LABELS}, "bogus": "1"}, ["body", "bogus"], "unknown form field 'bogus'"),
        ({"options": {"labels": ["Watches"]}}, ["body", "file", "row 1", "label"], "not one of the labels"),
        ({"labels": "A,A"}, ["body", "labels"], "duplicate label"),
        ({"files": {"labels": LABELS}, "prompt_user": "{title} {price}"}, ["body", "prompt_user"], "{price}"),
        ({"use_case": "nope"}, ["body", "use_case"], "unknown use case 'nope'"),
    ],
)
def test_bad_uploads_are_422_naming_the_field_and_create_nothing(lab, kwargs, loc, message):
    with session_scope() as s:
        before = s.scalar(select(func.count()).select_from(Run))
    kwargs = {"use_case": "classify", **kwargs}
    with pytest.raises(LabrunAPIError) as exc:
        lab.submit_file(SAMPLE, model="fake", **kwargs)
    assert exc.value.status_code == 422
    assert any(d["loc"] == loc and message in d["msg"] for d in exc.value.detail), exc.value.detail
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == before


def test_metrics_per_label_confusion_and_the_export(lab, tmp_path):
    created = lab.submit_file(SAMPLE, model="fake", use_case="classify", files={"labels": LABELS}, limit=60)
    run_id = created["run_id"]
    with session_scope() as s:
        dps = s.execute(
            select(Datapoint.id, Datapoint.expected).where(Datapoint.dataset_id == run_of(run_id).dataset_id)
        ).all()[:60]
    labels = sorted({e for _, e in dps})
    now = datetime.now(UTC)
    values, truth = [], []
    for i, (dp_id, expected) in enumerate(dps):  # every third answer is wrong, every tenth invalid
        parsed = expected if i % 3 else labels[(labels.index(expected) + 1) % len(labels)]
        ok = i % 10 != 0
        values.append({"run_id": run_id, "datapoint_id": dp_id, "expected": expected, "attempts": 1,
                       "status": "succeeded" if ok else "failed", "parsed": parsed if ok else None,
                       "correct": parsed == expected if ok else None, "error_type": None if ok else "parse_error",
                       "details": {"parse_method": "exact"}, "started_at": now, "finished_at": now})  # fmt: skip
        if ok:
            truth.append((expected, parsed))
    with session_scope() as s:
        s.execute(insert(Prediction), values)
        compute_metrics(s, run_id, registry.get("classify"))
        m = s.get(Metric, (run_id, "all"))
        assert (m.n, m.n_valid) == (60, len(truth)) and m.accuracy == pytest.approx(
            sum(e == p for e, p in truth) / len(truth)
        )
        per = m.extra["per_label"]
        for label in labels:
            tp = sum(e == p == label for e, p in truth)
            fp = sum(p == label != e for e, p in truth)
            fn = sum(e == label != p for e, p in truth)
            assert per[label]["support"] == tp + fn
            assert per[label]["precision"] == pytest.approx(tp / (tp + fp) if tp + fp else None)
            assert per[label]["recall"] == pytest.approx(tp / (tp + fn) if tp + fn else None)
        assert sum(n for row in m.extra["confusion"].values() for n in row.values()) == len(truth)
        segments = set(s.scalars(select(Metric.segment).where(Metric.run_id == run_id)))
        assert segments == {"all", *(f"label={label}" for label in labels)}
    out = export_run(run_id, tmp_path)
    lines = (out / "inputs/datapoints.jsonl").read_text().splitlines()
    assert len(lines) == 60 and set(json.loads(lines[0])) == {"id", "title", "description", "brand", "label"}
    assert (out / "inputs/labels.txt").read_text().count("\n") == 13  # header + 12 labels
    with (out / "outputs/classifications.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 60 and rows[0]["title"] and {r["status"] for r in rows} == {"succeeded", "failed"}
    assert json.loads((out / "inputs/prompt_templates.json").read_text())["variables"] == [
        "brand", "description", "labels", "title"]  # fmt: skip
