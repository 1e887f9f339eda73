"""Cost and duration of a run before it exists (``--dry-run``): nothing is sent or stored.

Input tokens come from the run's real prompts (built for a sample of its datapoints, as the
workers would) times tokens per character; output tokens are ``max_tokens``, an upper bound. Both
are calibrated from this alias's past runs when any exist: observed prompt tokens per prompt
character, and observed completion tokens per call. Duration is what the alias's configured rate
limits allow (requests and tokens per minute), the slowest of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labrun.shared.core.schemas import RunCreate
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.create import resolve_model, run_config
from labrun.shared.runs.prepared import RunPlan
from labrun.shared.storage.db.models import Prediction, Run
from labrun.shared.usecases import registry
from labrun.shared.usecases.base import Options

SAMPLE = 400
CHARS_PER_TOKEN = 4.0  # without history: the common rule of thumb for English text


@dataclass(frozen=True)
class Estimate:
    rows: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    duration_s: float | None  # None: the alias has no configured limit
    basis: str  # how the figures were calibrated


def _history(session: Session, alias: str) -> tuple[float | None, float | None]:
    """Tokens per prompt character and completion tokens per call in the alias's past rows."""
    chars = func.length(Prediction.request["messages"].astext)
    q = (
        select(func.sum(Prediction.prompt_tokens), func.sum(chars), func.avg(Prediction.completion_tokens))
        .join(Run, Run.id == Prediction.run_id)
        .where(Run.model_alias == alias, Prediction.status == PredictionStatus.SUCCEEDED)
    )
    tokens, n_chars, out = session.execute(q).one()
    per_char = float(tokens) / float(n_chars) if tokens and n_chars else None
    return per_char, float(out) if out is not None else None


def _chars(request: dict[str, Any]) -> int:
    """Characters of the messages as stored with each row (what the calibration divides by)."""
    return len(json.dumps(request["messages"], ensure_ascii=False))


def estimate(session: Session, req: RunCreate) -> Estimate:
    use_case = registry.get(req.use_case)
    spec = resolve_model(req.model)
    rows = req.rows[: req.limit] if req.limit else list(req.rows)
    prepared = use_case.prepare(
        rows, list(req.rows), Options(dict(req.options), req.prompt.system, req.prompt.user)
    )
    plan = RunPlan.from_config("dry-run", run_config(use_case, spec, req, prepared.snapshot))
    dps = prepared.datapoints
    step = max(1, len(dps) // SAMPLE)
    sample = dps[::step][:SAMPLE]
    sample_chars = sum(_chars(plan.prepared.request(dp, plan.params).request.as_dict()) for dp in sample)
    chars = sample_chars / max(1, len(sample)) * len(dps)
    per_char, out_per_call = _history(session, spec.alias)
    input_tokens = int(chars * (per_char or 1 / CHARS_PER_TOKEN))
    output_tokens = int(len(dps) * (out_per_call if out_per_call is not None else plan.params.max_tokens))
    basis = (
        f"calibrated on {spec.alias}'s past runs"
        if per_char
        else f"{CHARS_PER_TOKEN:.0f} characters per token"
    ) + (
        ""
        if out_per_call is not None
        else f"; output at max_tokens ({plan.params.max_tokens}), an upper bound"
    )
    lim = spec.limits
    minutes = [
        len(dps) / lim.requests_per_min if lim.requests_per_min else None,
        (input_tokens + output_tokens) / lim.tokens_per_min if lim.tokens_per_min else None,
        input_tokens / lim.input_tokens_per_min if lim.input_tokens_per_min else None,
        output_tokens / lim.output_tokens_per_min if lim.output_tokens_per_min else None,
    ]
    known = [m for m in minutes if m is not None]
    return Estimate(
        rows=len(dps),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=spec.cost_usd(input_tokens, output_tokens),
        duration_s=max(known) * 60 if known else None,
        basis=basis,
    )
