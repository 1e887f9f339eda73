"""Pydantic schemas of the public API (shared by the HTTP API, the CLI and the Python client)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CacheMode = Literal["read-write", "read", "off", "refresh"]


class PromptSpec(BaseModel):
    """Prompt templates over the row's fields; unset parts take the use case's defaults."""

    model_config = ConfigDict(extra="forbid")

    system: str | None = None
    user: str | None = None


class RunCreate(BaseModel):
    """A run of any use case: rows and options are the use case's (validated by its ``prepare``).

    For assign-cat, the earlier top-level ``taxonomy`` and ``prompt.max_candidates`` are still
    accepted and moved into ``options``.
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    use_case: str = Field("assign-cat", max_length=50, description="Use case name (`labrun use-cases`)")
    model: str | None = Field(None, description="Model alias from models.yaml; default alias if unset")
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=200_000)
    options: dict[str, Any] = Field(default_factory=dict, description="The use case's options")
    prompt: PromptSpec = PromptSpec()
    experiment: str | None = Field(None, max_length=200)
    experiment_info: dict[str, Any] | None = Field(
        None, description="Where the run comes from in its experiment (version, sweep cell, spec)"
    )
    dataset_name: str | None = Field(None, max_length=200)
    limit: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1, le=16_384)
    temperature: float | None = Field(None, ge=0, le=2, description="Default: the alias's")
    seed: int | None = Field(None, description="Sent to providers that take one")
    cache: CacheMode | None = Field(
        None,
        description="Response cache: read-write (default at temperature 0 or with a seed), read, off, refresh",
    )
    max_cost_usd: float | None = Field(None, gt=0, description="Hard budget of the run, across all workers")

    @field_validator("rows", mode="before")
    @classmethod
    def _models_to_dicts(cls, rows: Any) -> Any:
        """Rows may be given as pydantic models (e.g. a use case's row schema)."""
        if isinstance(rows, list):
            return [r.model_dump() if isinstance(r, BaseModel) else r for r in rows]
        return rows

    @model_validator(mode="before")
    @classmethod
    def _legacy_assign_cat_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        options = dict(data.get("options") or {})
        if "taxonomy" in data:
            options.setdefault("taxonomy", data.pop("taxonomy"))
        prompt = data.get("prompt")
        if isinstance(prompt, dict) and "max_candidates" in prompt:
            prompt = dict(prompt)
            options.setdefault("max_candidates", prompt.pop("max_candidates"))
            data["prompt"] = prompt
        if options:
            data["options"] = options
        return data


class RunCreated(BaseModel):
    run_id: str
    status: str
    n_total: int
    rows_pending: bool = Field(
        False, description="A large upload: its rows are read at dispatch; n_total is 0 until then"
    )
    warnings: list[str] = Field(default_factory=list, description="What to know about this run's inputs")


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
    final: bool = Field(False, description="The run has settled (its status will not change)")
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
    events: list[dict[str, Any]] = Field(
        default_factory=list, description="What labrun did to keep the run going"
    )


class PredictionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    datapoint_id: int
    external_id: str
    status: str
    parsed: str | None
    expected: str | None
    correct: bool | None
    details: dict[str, Any] = {}
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
    cache_hit: bool = Field(
        False, description="The answer came from the response cache (cost 0 for this run)"
    )
    cached_cost_usd: float | None = Field(None, description="What a cached answer cost when it was paid for")
    input_chars: int | None = Field(None, description="Characters of the request's messages")
    prompt_hash: str | None = Field(None, description="SHA-256 of the run's prompt templates")
    system_fingerprint: str | None = Field(None, description="The provider's backend configuration, if given")


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
    macro_f1: float | None
    extra: dict[str, Any] = {}
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    errors_by_type: dict[str, int]
    attempts_total: int
    throughput_per_s: float | None
    n_skipped: int = Field(0, description="Rows skipped for the run's budget (not in n)")
    n_cache_hits: int = 0
    cached_cost_usd: float = Field(0.0, description="What the cached answers cost when they were paid for")
