"""``outputs/``: one CSV row per datapoint and the error log (token usage and timing: ``usage``)."""

from __future__ import annotations

import csv
from typing import Any

from sqlalchemy import func, literal, select, true

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.export.common import MISSING, YIELD_PER, Export, iso
from labrun.shared.runs.export.usage import usage_by_status, write_timing, write_token_usage
from labrun.shared.storage.db.models import Datapoint, Prediction
from labrun.shared.storage.db.queries import run_datapoints
from labrun.shared.usecases import registry

CSV_COLUMNS = (
    "id", "title", "expected", "predicted", "correct", "status", "error_type", "finish_reason",
    "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "attempts", "parse_method",
    "raw_uri", "provider_request_id", "response_model", "worker_hostname", "started_at", "finished_at",
)  # fmt: skip
PREDICTION_COLUMNS = (
    "expected", "parsed", "correct", "status", "error_type", "finish_reason", "prompt_tokens",
    "completion_tokens", "cost_usd", "latency_ms", "attempts", "details", "raw_uri",
    "provider_request_id", "response_model", "worker_hostname", "started_at", "finished_at",
)  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def write_classifications(ex: Export) -> int:
    """``outputs/classifications.csv``: every datapoint of the run in dataset order, streamed;
    datapoints without a prediction row get status ``missing``.

    The prediction is looked up per datapoint (LATERAL ... LIMIT 1: an index probe on the primary
    key) so the plan stays linear even when the planner's statistics are stale, as they are right
    after a run has inserted 100,000 rows.
    """
    key = registry.get(ex.run.use_case).title_key(ex.run.config)
    title = (func.jsonb_extract_path_text(Datapoint.inputs, key) if key else literal("")).label("title")
    dp = run_datapoints(
        ex.run, Datapoint.id, Datapoint.position, Datapoint.external_id, title, Datapoint.expected
    ).subquery("dp")
    lateral = (
        select(*(getattr(Prediction, c) for c in PREDICTION_COLUMNS))
        .where(Prediction.run_id == ex.run.id, Prediction.datapoint_id == dp.c.id)
        .limit(1)
        .lateral("p")
    )
    p = lateral.c
    stmt = (
        select(
            dp.c.external_id,
            dp.c.title,
            func.coalesce(p.expected, dp.c.expected),
            p.parsed,
            p.correct,
            func.coalesce(p.status, MISSING),
            p.error_type,
            p.finish_reason,
            p.prompt_tokens,
            p.completion_tokens,
            p.cost_usd,
            p.latency_ms,
            p.attempts,
            p.details["parse_method"].astext,
            p.raw_uri,
            p.provider_request_id,
            p.response_model,
            p.worker_hostname,
            p.started_at,
            p.finished_at,
        )
        .select_from(dp)
        .outerjoin(lateral, true())
        .order_by(dp.c.position)
    )
    n = 0
    with ex.path("outputs/classifications.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for row in ex.session.execute(stmt.execution_options(yield_per=YIELD_PER)):
            writer.writerow([ex.scrub(_cell(v)) for v in row])
            n += 1
    return n


def write_errors(ex: Export) -> int:
    """``outputs/errors.log``: ``<finished_at> <id> <error_type> attempts=<n> <message>`` per failed
    prediction, oldest first (an empty file when none failed)."""
    p = Prediction
    stmt = (
        select(p.finished_at, Datapoint.external_id, p.error_type, p.attempts, p.error_message)
        .join(Datapoint, Datapoint.id == p.datapoint_id)
        .where(p.run_id == ex.run.id, p.status == PredictionStatus.FAILED)
        .order_by(p.finished_at.asc().nulls_last(), Datapoint.position)
    )
    n = 0
    with ex.path("outputs/errors.log").open("w", encoding="utf-8") as f:
        for finished, ext, error_type, attempts, message in ex.session.execute(
            stmt.execution_options(yield_per=YIELD_PER)
        ):
            text = " ".join((message or "").split())
            line = f"{iso(finished) or '-'} {ext} {error_type or 'unknown'} attempts={attempts} {text}"
            f.write(ex.scrub(line.rstrip()) + "\n")
            n += 1
    return n


def write_outputs(ex: Export) -> dict[str, Any]:

    n_rows = write_classifications(ex)
    by_status = usage_by_status(ex)
    usage = write_token_usage(ex, by_status)
    timing = write_timing(ex)
    n_errors = write_errors(ex)
    return {"rows": n_rows, "usage": usage, "timing": timing, "errors": n_errors}
