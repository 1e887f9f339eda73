"""The paired comparison of two runs as frozen pydantic models (``GET /compare``, ``labrun compare``).

Accuracies are over judged rows (valid and scored), as in the metrics table; failures lower the
coverage, never the accuracy. Differences are B - A.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["a_only", "b_only"]  # right in A only (B lost it), right in B only (B won it)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, protected_namespaces=())


class IntervalOut(Frozen):
    low: float
    high: float


class RunSide(Frozen):
    """One run on its own rows: coverage, accuracy with its 95% Wilson interval, cost, latency."""

    id: str
    model_alias: str
    use_case: str
    status: str
    n: int = Field(description="Prediction rows")
    n_answered: int = Field(description="Valid rows (status succeeded)")
    coverage: float | None
    n_judged: int = Field(description="Valid rows with a verdict (the accuracy's denominator)")
    n_correct: int
    accuracy: float | None
    accuracy_ci: IntervalOut | None
    cost_usd: float
    cost_per_row_usd: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class Overlap(Frozen):
    """Which datapoints (by external id) the runs share, and why shared ones are not paired."""

    same_datapoints: bool
    n_shared: int
    n_only_a: int
    n_only_b: int
    n_paired: int = Field(description="Shared datapoints judged in both runs")
    n_excluded: int = Field(description="Shared datapoints not judged in one run or both")
    n_failed_a: int = Field(description="Shared datapoints whose row failed in A")
    n_failed_b: int = Field(description="Shared datapoints whose row failed in B")
    n_unjudged: int = Field(description="Valid in both but without a verdict in one (no expected value)")


class PairedOut(Frozen):
    """The paired 2x2 table, both accuracies over it, B - A with Newcombe's 95% interval, McNemar."""

    n: int
    both_right: int
    a_only: int = Field(description="Right in A, wrong in B")
    b_only: int = Field(description="Wrong in A, right in B")
    both_wrong: int
    accuracy_a: float | None
    accuracy_b: float | None
    delta: float | None
    delta_ci: IntervalOut | None
    mcnemar_p: float


class SegmentOut(PairedOut):
    segment: str


class Deltas(Frozen):
    """B - A over each run's own rows."""

    cost_usd: float
    cost_per_row_usd: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class Comparison(Frozen):
    a: RunSide
    b: RunSide
    overlap: Overlap
    paired: PairedOut
    segments: tuple[SegmentOut, ...] = Field(description="By run A's use-case segments, largest first")
    deltas: Deltas
    notes: tuple[str, ...] = ()


class Flip(Frozen):
    external_id: str
    expected: str | None
    parsed_a: str | None
    parsed_b: str | None


class FlipPage(Frozen):
    a: str
    b: str
    direction: Direction
    total: int
    offset: int
    limit: int
    items: tuple[Flip, ...]
