"""Runs written straight into the database for the analysis tests: ``create_run``, then one
prediction row per datapoint from a dict of its fields (``None``: the datapoint has no row), then
the SQL metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.create import create_run
from labrun.shared.runs.metrics import compute_metrics
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases import registry

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def product(i: int, brand: str, title: str | None = None, category: str = "Food > Snacks") -> dict:
    return {"id": f"p{i:03d}", "title": title or f"Product {i}", "brand": brand, "category": category}


def prediction(dp: Datapoint, i: int, fields: dict[str, Any]) -> dict[str, Any]:
    """A finished row: right unless ``correct`` says otherwise; ``status="failed"`` makes it a
    server error. Latency ``10 * (i + 1)`` ms and cost 0.001 unless given."""
    failed = fields.get("status") == "failed"
    correct = None if failed else fields.get("correct", True)
    parsed = None if failed else (dp.expected if correct else "Wrong > Answer")
    row = {
        "status": "succeeded", "expected": dp.expected, "parsed": parsed, "correct": correct,
        "details": {"expected_path": (dp.expected or "").split(" > "), "parse_method": "exact"},
        "error_type": "server_error" if failed else None, "attempts": 1, "finish_reason": None if failed else "stop",
        "prompt_tokens": 100, "completion_tokens": 5, "cost_usd": 0.001, "latency_ms": 10.0 * (i + 1),
        "response_model": "fake-1", "started_at": T0 + timedelta(seconds=i),
        "finished_at": T0 + timedelta(seconds=i + 1),
    }  # fmt: skip
    return row | {k: v for k, v in fields.items() if k != "correct"} | {"datapoint_id": dp.id}


def build_run(rows: list[dict], preds: list[dict[str, Any] | None], *, model: str = "fake") -> str:
    """A finished assign-cat run over ``rows``; ``preds[i]`` gives the i-th datapoint's row."""
    with session_scope() as s:
        req = RunCreate(model="fake", rows=rows, options={"taxonomy": {"source": "labels"}})
        run = create_run(s, req)
        s.execute(update(Run).where(Run.id == run.id).values(status="succeeded", model_alias=model))
        points = s.scalars(
            select(Datapoint).where(Datapoint.dataset_id == run.dataset_id).order_by(Datapoint.position)
        ).all()
        values = [
            prediction(dp, i, fields) | {"run_id": run.id}
            for i, (dp, fields) in enumerate(zip(points, preds, strict=True))
            if fields is not None
        ]
        s.execute(insert(Prediction), values)
        run_id = run.id
    with session_scope() as s:
        compute_metrics(s, run_id, registry.get("assign-cat"))
    return run_id
