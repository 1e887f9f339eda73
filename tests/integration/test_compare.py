"""``labrun compare`` against real Postgres: two runs built row by row with known right / wrong /
failed patterns, compared through the library, the HTTP API and the CLI.

The paired table is made equal to one of Newcombe's published examples (1998b, Table III:
(a, b, c, d) = (20, 12, 2, 16), method 10 95% CI 0.0562 to 0.3292) and its discordant pairs to
Armitage & Berry's (12 and 2, exact two-sided P = 0.0129), so the expected figures come from the
literature, not from the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from labrun.api.main import create_app
from labrun.cli.main import app as cli_app
from labrun.shared.analysis.compare import compare, flips
from labrun.shared.client import LabrunAPIError, LabrunClient
from labrun.shared.core.errors import NotFound
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.create import create_run
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.shared.storage.db.session import session_scope
from tests.auth import give
from tests.helpers import catalog_rows

pytestmark = pytest.mark.integration

# (A, B) per datapoint: R right, W wrong, F failed, U valid but without a verdict
PATTERN = (
    [("R", "R")] * 20 + [("W", "R")] * 12 + [("R", "W")] * 2 + [("W", "W")] * 16
    + [("F", "R")] * 3 + [("R", "F")] * 2 + [("U", "R")]
)  # fmt: skip
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def new_run(rows: list[dict], states: list[str], *, cost: float, latency: float, model: str = "fake") -> str:
    """A finished run over ``rows`` whose i-th prediction is ``states[i]``; latency ``latency * (i + 1)``."""
    with session_scope() as s:
        run = create_run(s, RunCreate(model="fake", rows=rows, options={"taxonomy": {"source": "labels"}}))
        s.execute(update(Run).where(Run.id == run.id).values(status="succeeded", model_alias=model))
        points = s.scalars(
            select(Datapoint).where(Datapoint.dataset_id == run.dataset_id).order_by(Datapoint.position)
        )
        values = [
            _row(run.id, dp, state, i, cost, latency)
            for i, (dp, state) in enumerate(zip(points, states, strict=True))
        ]
        s.execute(insert(Prediction), values)
        return run.id


def _row(run_id: str, dp: Datapoint, state: str, i: int, cost: float, latency: float) -> dict:
    failed = state == "F"
    return {
        "run_id": run_id, "datapoint_id": dp.id, "status": "failed" if failed else "succeeded",
        "expected": dp.expected, "parsed": None if failed else dp.expected if state == "R" else "Wrong > Answer",
        "correct": {"R": True, "W": False}.get(state), "error_type": "server_error" if failed else None,
        "details": {"expected_path": ["Even" if i % 2 == 0 else "Odd"]}, "attempts": 1,
        "cost_usd": cost, "latency_ms": latency * (i + 1), "started_at": T0, "finished_at": T0,
    }  # fmt: skip


def percentile_cont(values: list[float], q: float) -> float:
    v, pos = sorted(values), q * (len(values) - 1)
    lo = int(pos)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (pos - lo)


@pytest.fixture
def pair(settings_env) -> tuple[str, str, list[dict]]:
    rows = catalog_rows(n=len(PATTERN))
    a = new_run(rows, [p[0] for p in PATTERN], cost=0.001, latency=10.0, model="model-a")
    b = new_run(rows, [p[1] for p in PATTERN], cost=0.003, latency=20.0, model="model-b")
    return a, b, rows


def test_paired_comparison_counts_intervals_and_p(pair):
    a, b, rows = pair
    with session_scope() as s:
        c = compare(s, a, b)
    assert (c.a.id, c.a.model_alias, c.b.model_alias, c.a.use_case) == (a, "model-a", "model-b", "assign-cat")
    # per run, over its own 56 rows: A failed 3, B failed 2; one A row has no verdict
    assert (c.a.n, c.a.n_answered, c.a.n_judged, c.a.n_correct) == (56, 53, 52, 24)
    assert (c.b.n, c.b.n_answered, c.b.n_judged, c.b.n_correct) == (56, 54, 54, 36)
    assert c.a.coverage == pytest.approx(53 / 56) and c.b.accuracy == pytest.approx(36 / 54)
    assert c.a.accuracy_ci.low < 24 / 52 < c.a.accuracy_ci.high
    o = c.overlap
    assert (o.same_datapoints, o.n_shared, o.n_only_a, o.n_only_b) == (True, 56, 0, 0)
    assert (o.n_paired, o.n_excluded, o.n_failed_a, o.n_failed_b, o.n_unjudged) == (50, 6, 3, 2, 1)
    p = c.paired
    assert (p.n, p.both_right, p.a_only, p.b_only, p.both_wrong) == (50, 20, 2, 12, 16)
    assert (p.accuracy_a, p.accuracy_b, p.delta) == pytest.approx((0.44, 0.64, 0.2))
    assert (round(p.delta_ci.low, 4), round(p.delta_ci.high, 4)) == (0.0562, 0.3292)  # Newcombe 1998b
    assert round(p.mcnemar_p, 4) == 0.0129  # Armitage & Berry
    assert c.deltas.cost_usd == pytest.approx(56 * 0.002)
    lat_a = [10.0 * (i + 1) for i in range(56)]
    assert c.a.latency_p95_ms == pytest.approx(percentile_cont(lat_a, 0.95))
    assert c.deltas.latency_p50_ms == pytest.approx(percentile_cont(lat_a, 0.5))  # B's are twice A's
    assert any("6 shared datapoints are left out" in n for n in c.notes)


def test_segments_split_the_paired_table(pair):
    a, b, _ = pair
    with session_scope() as s:
        c = compare(s, a, b)
    expected = {}
    for seg in ("Even", "Odd"):
        cells = [PATTERN[i] for i in range(50) if (i % 2 == 0) == (seg == "Even")]
        expected["level1=" + seg] = tuple(
            cells.count(k) for k in [("R", "R"), ("R", "W"), ("W", "R"), ("W", "W")]
        )
    got = {x.segment: (x.both_right, x.a_only, x.b_only, x.both_wrong) for x in c.segments}
    assert got == expected
    assert sum(x.n for x in c.segments) == c.paired.n


def test_flips_list_both_directions_in_dataset_order(pair):
    a, b, rows = pair
    with session_scope() as s:
        lost = flips(s, a, b, "a_only")
        won = flips(s, a, b, "b_only", limit=5, offset=5)
    assert lost.total == 2 and [f.external_id for f in lost.items] == [rows[i]["id"] for i in (32, 33)]
    assert lost.items[0].parsed_a == lost.items[0].expected == rows[32]["category"]
    assert lost.items[0].parsed_b == "Wrong > Answer"
    assert won.total == 12 and [f.external_id for f in won.items] == [rows[i]["id"] for i in range(25, 30)]


def test_runs_over_different_datapoints_pair_the_shared_ones(pair):
    a, _, rows = pair
    more = catalog_rows(n=len(PATTERN) + 10)[10:]  # rows 10..65: 46 shared with A, 10 new
    other = new_run(more, ["R"] * len(more), cost=0.001, latency=5.0)
    with session_scope() as s:
        c = compare(s, a, other)
    o = c.overlap
    assert (o.same_datapoints, o.n_shared, o.n_only_a, o.n_only_b) == (False, 46, 10, 10)
    shared = PATTERN[10:]
    assert o.n_failed_a == sum(x[0] == "F" for x in shared) and o.n_failed_b == 0
    assert o.n_paired == sum(x[0] in "RW" for x in shared)
    assert (c.paired.both_right, c.paired.b_only) == (
        sum(x[0] == "R" for x in shared),
        sum(x[0] == "W" for x in shared),
    )
    assert c.b.n == 56 and any(
        "datapoints differ: 46 shared, 10 only in A, 10 only in B" in n for n in c.notes
    )


def test_unknown_run_is_not_found(pair):
    a, _, _ = pair
    with session_scope() as s, pytest.raises(NotFound, match="no-such-run"):
        compare(s, a, "no-such-run")
    with session_scope() as s, pytest.raises(NotFound, match="nope-1, nope-2"):
        flips(s, "nope-1", "nope-2")


def test_api_routes_and_client(pair, project_key):
    a, b, rows = pair
    give(project_key, a, b)
    with TestClient(create_app(), headers=project_key.headers) as http:
        body = http.get("/compare", params={"a": a, "b": b}).json()
        assert body["paired"]["a_only"] == 2 and round(body["paired"]["delta_ci"]["low"], 4) == 0.0562
        page = http.get("/compare/flips", params={"a": a, "b": b, "direction": "b_only", "limit": 3}).json()
        assert page["total"] == 12 and [f["external_id"] for f in page["items"]] == [
            r["id"] for r in rows[20:23]
        ]
        missing = http.get("/compare", params={"a": a, "b": "no-such-run"})
        assert missing.status_code == 404 and missing.json()["detail"] == "run no-such-run not found"
        assert http.get("/compare/flips", params={"a": a, "b": b, "direction": "x"}).status_code == 422
        lab = LabrunClient(http=http)
        assert lab.compare(a, b)["overlap"]["n_paired"] == 50
        assert lab.flips(a, b)["total"] == 2
        with pytest.raises(LabrunAPIError) as err:
            lab.compare("no-such-run", b)
        assert err.value.status_code == 404


def test_cli_prints_the_comparison_and_flips(pair):
    a, b, rows = pair
    runner = CliRunner()
    out = runner.invoke(cli_app, ["compare", a, b, "--flips", "a"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "0.46 [0.33, 0.59]" in text and "24/52" in text  # A's accuracy and its Wilson interval
    assert "B - A +0.200 [+0.056, +0.329]" in text and "McNemar exact p = 0.013" in text
    assert "A right & B wrong 2, A wrong & B right 12" in text and rows[32]["id"] in text
    assert "6 shared datapoints are left out" in text
    as_json = runner.invoke(cli_app, ["compare", a, b, "--json"])
    assert json.loads(as_json.output)["paired"]["b_only"] == 12
    bad = runner.invoke(cli_app, ["compare", a, "no-such-run"])
    assert bad.exit_code == 2 and "no run 'no-such-run'" in bad.output and "Traceback" not in bad.output
