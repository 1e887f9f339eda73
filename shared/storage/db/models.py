"""The labrun schema.

Inputs: ``datasets`` (content-addressed snapshots) and ``datapoints`` (input + expected label).
Runs: ``experiments`` group ``runs``; a run holds the full config snapshot.
Use-case fields live in JSONB (``predictions.details``, ``metrics.extra``).
Results, the two-table pattern: ``predictions`` (one row per run and datapoint, upserted by the
task that owns it) and ``metrics`` (one row per run and segment, computed by SQL in finalize).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from labrun.shared.storage.db.base import Base


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Datapoint(Base):
    __tablename__ = "datapoints"
    __table_args__ = (UniqueConstraint("dataset_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    expected: Mapped[str | None] = mapped_column(Text)


class Project(Base):
    """Who a run belongs to when it came through the API with a key (docs/security.md)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A project's API key ``lr_<id>_<secret>``: only the SHA-256 of the secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# experiment names are unique per project (project NULL: the operator's, created without the API)
Index("uq_experiments_project_name", func.coalesce(Experiment.project_id, 0), Experiment.name, unique=True)


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    # the project of the API key that submitted it; NULL: the operator's (CLI without the API)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    use_case: Mapped[str] = mapped_column(String(50))
    model_alias: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)  # see shared/runs/lifecycle.py
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    n_total: Mapped[int] = mapped_column(Integer)
    n_succeeded: Mapped[int] = mapped_column(Integer, default=0)
    n_failed: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # what labrun did to keep the run going (the sweeper's re-enqueues...), oldest first
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class Prediction(Base):
    __tablename__ = "predictions"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    datapoint_id: Mapped[int] = mapped_column(ForeignKey("datapoints.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # PredictionStatus
    request: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    raw_uri: Mapped[str | None] = mapped_column(Text)
    raw_output: Mapped[str | None] = mapped_column(Text)
    parsed: Mapped[str | None] = mapped_column(Text)
    expected: Mapped[str | None] = mapped_column(Text)
    correct: Mapped[bool | None] = mapped_column()
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # the use case's own fields
    finish_reason: Mapped[str | None] = mapped_column(String(50))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 8))
    latency_ms: Mapped[float | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error_type: Mapped[str | None] = mapped_column(String(40), index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    response_model: Mapped[str | None] = mapped_column(String(200))
    provider_request_id: Mapped[str | None] = mapped_column(String(200))
    worker_hostname: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # segmentation fields (migration 0004): the answer came from the response cache (cost_usd 0,
    # what it cost when it was paid for in cached_cost_usd); characters of the request's messages;
    # SHA-256 of the run's prompt templates; the provider's backend configuration, when it says
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    cached_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 8))
    input_chars: Mapped[int | None] = mapped_column(Integer)
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    system_fingerprint: Mapped[str | None] = mapped_column(String(200))


class Metric(Base):
    __tablename__ = "metrics"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    segment: Mapped[str] = mapped_column(String(300), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    n_valid: Mapped[int] = mapped_column(Integer)
    n_correct: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[float | None] = mapped_column()
    accuracy: Mapped[float | None] = mapped_column()
    macro_f1: Mapped[float | None] = mapped_column()
    extra: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # the use case's own metrics
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    latency_p50_ms: Mapped[float | None] = mapped_column()
    latency_p95_ms: Mapped[float | None] = mapped_column()
    latency_p99_ms: Mapped[float | None] = mapped_column()
    errors_by_type: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    attempts_total: Mapped[int] = mapped_column(BigInteger)
    throughput_per_s: Mapped[float | None] = mapped_column()
    # rows skipped for the run's budget (not in n, coverage or errors); answers from the cache
    n_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    n_cache_hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cached_cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=0, server_default="0")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
