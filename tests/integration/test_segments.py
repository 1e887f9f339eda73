"""``labrun show RUN --by FIELD`` / ``GET /runs/{id}/segments`` against real Postgres: a run with
known rows, segmented by prediction columns, an input column and a bucketed length."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from labrun.api.main import create_app
from labrun.cli.main import app as cli_app
from labrun.shared.analysis.segments import segment_fields, segments
from labrun.shared.analysis.stats import wilson
from labrun.shared.client import LabrunClient
from labrun.shared.core.errors import InputError, NotFound
from labrun.shared.runs import queries
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope
from tests.integration.built_runs import build_run, product

pytestmark = pytest.mark.integration

TITLE_LEN = [15] * 4 + [60] * 4 + [150] * 2  # buckets 10-20, 50-100, 100-200
PREDS = [
    {}, {"correct": False}, {"status": "failed"}, {"response_model": "fake-2"}, {},
    {"status": "failed", "error_type": "timeout"},  # Acme: 0-5
    {"attempts": 2}, {"correct": False}, {}, None,  # Bolt: 6-9, the last without a row
]  # fmt: skip


@pytest.fixture
def run_id(settings_env) -> str:
    rows = [product(i, "Acme" if i < 6 else "Bolt", title="t" * TITLE_LEN[i]) for i in range(10)]
    return build_run(rows, PREDS)


def by(run_id: str, field: str) -> dict[str, tuple]:
    """segment -> (n, n_valid, n_judged, n_correct, errors), in the order returned."""
    with session_scope() as s:
        result = segments(s, run_id, field)
    return {x.segment: (x.n, x.n_valid, x.n_judged, x.n_correct, x.errors) for x in result.segments}


def test_input_column_gives_known_figures(run_id):
    with session_scope() as s:
        result = segments(s, run_id, "input.brand")
    acme, bolt = result.segments
    assert (acme.segment, acme.n, acme.n_valid, acme.n_judged, acme.n_correct) == ("Acme", 6, 4, 4, 3)
    assert (bolt.segment, bolt.n, bolt.n_valid, bolt.n_judged, bolt.n_correct) == ("Bolt", 3, 3, 3, 2)
    assert acme.coverage == pytest.approx(4 / 6) and acme.accuracy == pytest.approx(0.75)
    assert (acme.accuracy_ci.low, acme.accuracy_ci.high) == pytest.approx(tuple(wilson(3, 4)))
    assert round(acme.accuracy_ci.low, 4) == 0.3006 and round(acme.accuracy_ci.high, 4) == 0.9544
    assert acme.errors_by_type == {"server_error": 1, "timeout": 1} and acme.errors == 2 and bolt.errors == 0
    assert acme.cost_usd == pytest.approx(0.006) and acme.cost_per_row_usd == pytest.approx(0.001)
    assert acme.latency_p50_ms == pytest.approx(35.0) and acme.latency_p95_ms == pytest.approx(57.5)
    assert bolt.latency_p50_ms == pytest.approx(80.0)  # rows 6-8: 70, 80, 90 ms
    assert result.bucketed is False


def test_prediction_columns_group_by_value(run_id):
    assert by(run_id, "status") == {"succeeded": (7, 7, 7, 5, 0), "failed": (2, 0, 0, 0, 2)}
    assert by(run_id, "error_type") == {"server_error": (1, 0, 0, 0, 1), "timeout": (1, 0, 0, 0, 1),
                                        "(none)": (7, 7, 7, 5, 0)}  # fmt: skip
    assert by(run_id, "response_model") == {"fake-1": (8, 6, 6, 4, 2), "fake-2": (1, 1, 1, 1, 0)}
    assert by(run_id, "attempts") == {"1": (8, 6, 6, 4, 2), "2": (1, 1, 1, 1, 0)}


def test_length_is_bucketed_on_a_1_2_5_scale(run_id):
    assert by(run_id, "len(input.title)") == {
        "10-20": (4, 3, 3, 2, 1), "50-100": (4, 3, 3, 2, 1), "100-200": (1, 1, 1, 1, 0),
    }  # fmt: skip
    assert list(by(run_id, "latency_ms")) == ["10-20", "20-50", "50-100"]  # 10, 20..40, 50..90 ms


def test_one_segment_equals_the_metrics_table(run_id):
    with session_scope() as s:
        (seg,) = segments(s, run_id, "expected").segments
        (overall,) = [m for m in queries.get_metrics(s, run_id) if m.segment == "all"]
    assert (seg.n, seg.n_valid, seg.n_correct, seg.coverage, seg.accuracy, seg.macro_f1) == (
        overall.n, overall.n_valid, overall.n_correct, overall.coverage, overall.accuracy, overall.macro_f1
    )  # fmt: skip
    assert (seg.cost_usd, seg.latency_p50_ms, seg.latency_p95_ms) == pytest.approx(
        (overall.cost_usd, overall.latency_p50_ms, overall.latency_p95_ms)
    )
    assert seg.errors_by_type == overall.errors_by_type


def test_a_column_added_by_a_migration_is_offered_at_once(run_id):
    with session_scope() as s:
        s.execute(text("ALTER TABLE predictions ADD COLUMN probe_chars integer"))
    try:
        with session_scope() as s:
            s.execute(text("UPDATE predictions SET probe_chars = 30 + 100 * (datapoint_id % 2)"))
            assert "probe_chars" in segment_fields(s, s.get(Run, run_id))
        assert {k: v[0] for k, v in by(run_id, "probe_chars").items()} == {"20-50": 4, "100-200": 5}
    finally:
        with session_scope() as s:
            s.execute(text("ALTER TABLE predictions DROP COLUMN probe_chars"))
    with session_scope() as s:
        assert "probe_chars" not in segment_fields(s, s.get(Run, run_id))


@pytest.mark.parametrize(
    "field", ["nope", "details", "run_id", "input.nope", "len(status)", "status; DROP TABLE runs"]
)
def test_unknown_fields_are_refused_with_the_allowed_list(run_id, field):
    with session_scope() as s, pytest.raises(InputError) as err:
        segments(s, run_id, field)
    assert f"unknown field {field!r}" in err.value.message
    assert "status" in err.value.message and "input.brand" in err.value.message
    assert "len(input.title)" in err.value.message


def test_unknown_run(settings_env):
    with session_scope() as s, pytest.raises(NotFound, match="no-such-run"):
        segments(s, "no-such-run", "status")


def test_api_route_and_client(run_id):
    with TestClient(create_app(auth="off")) as http:
        body = http.get(f"/runs/{run_id}/segments", params={"by": "input.brand"}).json()
        assert body["by"] == "input.brand" and [s["segment"] for s in body["segments"]] == ["Acme", "Bolt"]
        assert (
            body["segments"][0]["n_correct"] == 3
            and round(body["segments"][0]["accuracy_ci"]["low"], 4) == 0.3006
        )
        bad = http.get(f"/runs/{run_id}/segments", params={"by": "nope"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "by"]
        assert "input.brand" in bad.json()["detail"][0]["msg"]
        missing = http.get("/runs/no-such-run/segments", params={"by": "status"})
        assert missing.status_code == 404 and missing.json()["detail"] == "run no-such-run not found"
        assert LabrunClient(http=http).segments(run_id, "status")["segments"][0]["segment"] == "succeeded"


def test_cli_show_by_and_every_accuracy_with_its_interval(run_id):
    runner = CliRunner()
    out = runner.invoke(cli_app, ["show", run_id, "--by", "input.brand", "--by", "len(input.title)"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    acme = next(line.split() for line in lines if line.startswith("Acme"))
    assert acme == ["Acme", "6", "66.7%", "75.0%", "[30.1,", "95.4]", "$0.0060", "35/58", "2"]
    assert "by len(input.title)" in out.output and "buckets [low, high)" in out.output
    assert [line.split()[0] for line in lines if line[:1].isdigit()] == ["10-20", "50-100", "100-200"]
    plain = runner.invoke(cli_app, ["show", run_id])
    low, high = wilson(5, 7)
    assert plain.exit_code == 0 and f"71.4% [{100 * low:.1f}, {100 * high:.1f}]" in plain.output
    assert "accuracy (valid only)" in plain.output and "95% CI; 5/7; coverage 77.8%" in plain.output
    bad = runner.invoke(cli_app, ["show", run_id, "--by", "nope"])
    assert bad.exit_code == 2 and "unknown field 'nope'" in bad.output and "input.brand" in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(cli_app, ["show", "no-such-run", "--by", "status"])
    assert missing.exit_code == 2 and "no run 'no-such-run'" in missing.output
