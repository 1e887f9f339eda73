"""Migration 0004 on a database with a run recorded before it: old rows are no cache hits and skip
nothing; the downgrade drops the columns and leaves statuses the older code can read."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from labrun.shared.storage.db.migrate import downgrade, upgrade
from tests.services import database_at

pytestmark = pytest.mark.integration

OLD_ROWS = """
INSERT INTO datasets (id, name, content_sha256, n_rows) VALUES (1, 'd', 'x', 3);
INSERT INTO datapoints (id, dataset_id, external_id, position, inputs, expected)
VALUES (1, 1, 'a', 0, '{"title": "Cocoa bar"}', 'Snacks'), (2, 1, 'b', 1, '{"title": "Soap"}', 'Home'),
       (3, 1, 'c', 2, '{"title": "Tea"}', 'Drinks');
INSERT INTO experiments (id, name, config) VALUES (1, 'e', '{}');
INSERT INTO runs (id, experiment_id, dataset_id, use_case, model_alias, status, config, n_total, n_succeeded,
                  n_failed, cost_usd)
VALUES ('old', 1, 1, 'assign-cat', 'fake', 'succeeded', '{}', 1, 1, 0, 0.01);
INSERT INTO predictions (run_id, datapoint_id, status, attempts, cost_usd) VALUES ('old', 1, 'succeeded', 1, 0.01);
INSERT INTO metrics (run_id, segment, n, n_valid, n_correct, cost_usd, prompt_tokens, completion_tokens,
                     errors_by_type, attempts_total)
VALUES ('old', 'all', 1, 1, 1, 0.01, 10, 2, '{}', 1);
"""
BUDGET_RUNS = """
INSERT INTO runs (id, experiment_id, dataset_id, use_case, model_alias, status, config, n_total, n_succeeded,
                  n_failed, cost_usd)
VALUES ('some', 1, 1, 'assign-cat', 'fake', 'budget_exceeded', '{}', 2, 1, 1, 0.01),
       ('none', 1, 1, 'assign-cat', 'fake', 'budget_exceeded', '{}', 1, 0, 1, 0);
INSERT INTO predictions (run_id, datapoint_id, status, attempts, cost_usd, cache_hit, error_message)
VALUES ('some', 1, 'succeeded', 1, 0.01, false, NULL), ('some', 2, 'skipped_budget', 0, NULL, false, 'budget'),
       ('none', 3, 'skipped_budget', 0, NULL, false, 'budget');
"""


@pytest.fixture
def db_at_0003(pg_admin_url):
    with database_at(pg_admin_url, "0003", OLD_ROWS) as db:
        yield db


def columns(engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_0004_adds_the_segmentation_fields_and_downgrades_to_what_0003_reads(db_at_0003):
    url, engine = db_at_0003
    upgrade(url, "0004")
    new = {"cache_hit", "cached_cost_usd", "input_chars", "prompt_hash", "system_fingerprint"}
    assert new <= columns(engine, "predictions")
    with engine.connect() as c:
        old = c.execute(sa.text("SELECT cache_hit, cached_cost_usd, input_chars, prompt_hash, system_fingerprint"
                                " FROM predictions WHERE run_id = 'old'")).one()  # fmt: skip
        assert tuple(old) == (False, None, None, None, None)
        m = c.execute(sa.text("SELECT n_skipped, n_cache_hits, cached_cost_usd FROM metrics")).one()
        assert tuple(m) == (0, 0, 0)
    with engine.begin() as c:
        for stmt in filter(str.strip, BUDGET_RUNS.split(";")):
            c.execute(sa.text(stmt))
    downgrade(url, "0003")
    assert not new & columns(engine, "predictions")
    assert not {"n_skipped", "n_cache_hits", "cached_cost_usd"} & columns(engine, "metrics")
    with engine.connect() as c:
        runs = dict(c.execute(sa.text("SELECT id, status FROM runs")).all())
        rows = c.execute(sa.text("SELECT run_id, datapoint_id, status, error_type, error_message FROM predictions"
                                 " ORDER BY 1, 2")).all()  # fmt: skip
    assert runs == {"old": "succeeded", "some": "partial", "none": "failed"}
    assert [tuple(r) for r in rows] == [
        ("none", 3, "failed", "internal", "budget"),
        ("old", 1, "succeeded", None, None),
        ("some", 1, "succeeded", None, None),
        ("some", 2, "failed", "internal", "budget"),
    ]
    upgrade(url, "head")  # and up again
    assert new <= columns(engine, "predictions")
