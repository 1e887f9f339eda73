"""Dispatch bookkeeping against a real migrated Postgres: a run that cannot be enqueued ends
``failed`` with the reason, and nothing else changes a finished run."""

import pytest
from sqlalchemy import select, update

from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.runs.service import mark_enqueue_failed as mark_failed
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope
from tests.helpers import catalog_rows

pytestmark = pytest.mark.integration


def _new_run() -> str:
    with session_scope() as s:
        return create_run(s, RunCreate(model="fake", rows=catalog_rows(n=5))).id


def mark_running(run_id: str) -> str | None:
    with session_scope() as s:
        return lifecycle.start(s, run_id)


def _status(run_id: str) -> tuple[str, str | None, bool]:
    with session_scope() as s:
        run = s.scalars(select(Run).where(Run.id == run_id)).one()
        return run.status, run.error, run.finished_at is not None


def test_a_run_that_cannot_be_enqueued_ends_failed_with_the_reason(settings_env):
    queued, running = _new_run(), _new_run()
    assert mark_running(running) == "queued"
    for run_id in (queued, running):
        assert mark_failed(run_id, "could not enqueue the run: OperationalError: broker down")
        assert _status(run_id) == ("failed", "could not enqueue the run: OperationalError: broker down", True)
    assert not mark_failed(queued, "again")  # already final: unchanged
    assert _status(queued)[1].endswith("broker down")


@pytest.mark.parametrize("final", ["succeeded", "partial", "cancelled"])
def test_a_finished_or_cancelled_run_is_never_marked_failed(settings_env, final):
    run_id = _new_run()
    with session_scope() as s:
        s.execute(update(Run).where(Run.id == run_id).values(status=final))
    assert not mark_failed(run_id, "late failure")
    assert _status(run_id)[:2] == (final, None)


def test_submit_with_the_broker_down_leaves_a_failed_run(settings_env, monkeypatch):
    from labrun.shared.core.config import get_settings
    from labrun.shared.runs.service import submit
    from labrun.shared.storage.broker import client_app
    from tests.services import free_port

    monkeypatch.setenv("LABRUN_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    get_settings.cache_clear()
    client_app.cache_clear()
    try:
        with pytest.raises(Exception):  # noqa: B017 - kombu's OperationalError, whatever its wrapping
            submit(RunCreate(model="fake", rows=catalog_rows(n=3)))
    finally:
        client_app.cache_clear()
        get_settings.cache_clear()
    with session_scope() as s:
        run = s.scalars(select(Run).order_by(Run.created_at.desc()).limit(1)).one()
        assert run.status == "failed" and run.finished_at is not None
        assert run.error.startswith("could not enqueue the run:")
