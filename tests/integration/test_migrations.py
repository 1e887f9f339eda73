"""Migration 0002 on a database with a run recorded before it: assign-cat's columns move into
``predictions.details`` / ``metrics.extra`` (the run reads the same through the API's queries),
and the downgrade moves them back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from labrun.shared.storage.db.migrate import downgrade, upgrade
from tests.services import database_at

pytestmark = pytest.mark.integration

OLD_ROWS = """
INSERT INTO datasets (id, name, content_sha256, n_rows) VALUES (1, 'd', 'x', 2);
INSERT INTO datapoints (id, dataset_id, external_id, position, inputs, expected)
VALUES (1, 1, 'a', 0, '{"title": "Cocoa bar"}', 'Snacks > Bars'), (2, 1, 'b', 1, '{"title": "Soap"}', 'Home');
INSERT INTO experiments (id, name, config) VALUES (1, 'e', '{}');
INSERT INTO runs (id, experiment_id, dataset_id, use_case, model_alias, status, config, n_total, n_succeeded,
                  n_failed, cost_usd)
VALUES ('assign-cat-old', 1, 1, 'assign-cat', 'fake', 'partial', '{"use_case": "assign-cat"}', 2, 1, 1, 0);
INSERT INTO predictions (run_id, datapoint_id, status, parsed, parsed_path, parse_method, expected, expected_path,
                         correct, attempts)
VALUES ('assign-cat-old', 1, 'succeeded', 'Snacks > Bars', ARRAY['Snacks', 'Bars'], 'exact', 'Snacks > Bars',
        ARRAY['Snacks', 'Bars'], true, 1),
       ('assign-cat-old', 2, 'failed', NULL, NULL, NULL, 'Home', ARRAY['Home'], NULL, 3);
INSERT INTO metrics (run_id, segment, n, n_valid, n_correct, accuracy_by_level, cost_usd, prompt_tokens,
                     completion_tokens, errors_by_type, attempts_total)
VALUES ('assign-cat-old', 'all', 2, 1, 1, '{"1": 1.0, "2": 1.0}', 0, 0, 0, '{}', 4);
"""


@pytest.fixture
def db_at_0001(pg_admin_url):
    with database_at(pg_admin_url, "0001", OLD_ROWS) as db:
        yield db


def test_old_runs_stay_readable_and_the_downgrade_restores_them(db_at_0001):
    url, engine = db_at_0001
    upgrade(url, "head")
    with engine.connect() as c:
        details = dict(c.execute(sa.text("SELECT datapoint_id, details FROM predictions ORDER BY 1")).all())
        extra = c.execute(sa.text("SELECT extra FROM metrics")).scalar_one()
    assert details[1] == {
        "parsed_path": ["Snacks", "Bars"],
        "expected_path": ["Snacks", "Bars"],
        "parse_method": "exact",
    }
    assert details[2] == {"parsed_path": None, "expected_path": ["Home"], "parse_method": None}
    assert extra == {"accuracy_by_level": {"1": 1.0, "2": 1.0}}
    downgrade(url, "0001")
    with engine.connect() as c:
        rows = c.execute(
            sa.text("SELECT parsed_path, expected_path, parse_method FROM predictions ORDER BY datapoint_id")
        )
        assert rows.all() == [(["Snacks", "Bars"], ["Snacks", "Bars"], "exact"), (None, ["Home"], None)]
        assert c.execute(sa.text("SELECT accuracy_by_level FROM metrics")).scalar_one() == {
            "1": 1.0,
            "2": 1.0,
        }
