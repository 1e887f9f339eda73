"""Pydantic schemas of the public API (shared by the HTTP API, the CLI and the Python client)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_FIELD_CHARS = 20_000


class ProductRow(BaseModel):
    """One datapoint of assign-cat. ``category`` is the expected label (a `` > ``-joined path)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str | None = Field(None, max_length=200)
    title: str = Field(min_length=1, max_length=MAX_FIELD_CHARS)
    description: str = Field("", max_length=MAX_FIELD_CHARS)
    brand: str = Field("", max_length=1000)
    category: str | None = Field(None, max_length=2000)

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class TaxonomySpec(BaseModel):
    """Where the taxonomy comes from: the rows' own labels, Google's text format, or a path list."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["labels", "google", "paths"] = "labels"
    text: str | None = Field(None, description="Google taxonomy text (source=google)")
    paths: list[str] | None = Field(None, description="Category paths (source=paths)")
    name: str | None = None


class PromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str | None = None
    user: str | None = None
    max_candidates: int = Field(300, ge=1, le=10_000)


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = Field(None, description="Model alias from models.yaml; default alias if unset")
    rows: list[ProductRow] = Field(min_length=1, max_length=200_000)
    taxonomy: TaxonomySpec = TaxonomySpec()
    prompt: PromptSpec = PromptSpec()
    experiment: str | None = Field(None, max_length=200)
    dataset_name: str | None = Field(None, max_length=200)
    limit: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1, le=16_384)


class RunCreated(BaseModel):
    run_id: str
    status: str
    n_total: int


class RunCounts(BaseModel):
    total: int
    done: int
    succeeded: int
    failed: int
    pending: int


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    id: str
    experiment: str | None = None
    use_case: str
    model_alias: str
    status: str
    counts: RunCounts
    progress: float
    cost_usd: float
    eta_seconds: float | None = None
    rate_per_s: float | None = None
    errors_by_type: dict[str, int] = {}
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None


class PredictionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    datapoint_id: int
    external_id: str
    status: str
    parsed: str | None
    expected: str | None
    correct: bool | None
    raw_output: str | None
    raw_uri: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    attempts: int
    error_type: str | None
    error_message: str | None


class PredictionPage(BaseModel):
    items: list[PredictionOut]
    total: int
    offset: int
    limit: int


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    segment: str
    n: int
    n_valid: int
    n_correct: int
    coverage: float | None
    accuracy: float | None
    accuracy_by_level: dict[str, float]
    macro_f1: float | None
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    errors_by_type: dict[str, int]
    attempts_total: int
    throughput_per_s: float | None
