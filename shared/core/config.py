"""labrun settings: one typed class, environment prefix ``LABRUN_``.

Provider credentials and endpoints are *not* here: the official SDKs read their own
variables (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODELS_FILE = Path(__file__).parent / "models.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABRUN_", extra="ignore")

    database_url: str | None = Field(
        None, description="postgresql+psycopg://... ; unset = embedded PostgreSQL"
    )
    redis_url: str | None = Field(None, description="Broker and result backend; unset = embedded Redis")
    artifacts_url: str | None = Field(
        None, description="s3://bucket/prefix or a directory; unset = HOME/artifacts"
    )
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, moto)")
    models_file: Path = BUNDLED_MODELS_FILE
    home: Path = Field(default_factory=lambda: Path.home() / ".labrun")

    db_pool_size: int = Field(10, ge=1, description="Postgres connections kept per process")
    db_max_overflow: int = Field(10, ge=0, description="Extra connections per process under load")
    db_pool_pre_ping: bool | None = Field(
        None, description="Test each pooled connection before use (unset: yes, except in workers)"
    )

    # Worker behaviour
    worker_concurrency: int = Field(100, ge=1, description="Provider calls in flight per worker process")
    request_timeout_s: float = Field(60.0, gt=0, description="Timeout of one provider HTTP call")
    retry_max_attempts: int = Field(8, ge=1, description="Provider attempts per datapoint, all classes")
    retry_max_elapsed_s: float = Field(900.0, gt=0, description="Give up retrying after this long")
    retry_base_delay_s: float = Field(1.0, gt=0, description="Base of the exponential backoff")
    retry_max_delay_s: float = Field(60.0, gt=0, description="Cap of one backoff delay")
    inline_wait_max_s: float = Field(
        20.0, ge=0, description="Longest wait done inside a task; longer waits re-schedule"
    )
    finalize_grace_s: float = Field(600.0, gt=0, description="How long finalize waits for stragglers")
    sweep_stall_s: float = Field(
        15.0, gt=0, description="A running run without a new row for this long, and nothing queued, is swept"
    )
    api_max_json_mb: float = Field(
        64.0, gt=0, description="Largest JSON request body the API reads (413 above)"
    )
    api_max_upload_mb: float = Field(256.0, gt=0, description="Largest upload the API reads (413 above)")
    api_defer_upload_mb: float = Field(
        4.0, ge=0, description="A larger upload's rows are read and validated at dispatch, not in the request"
    )
    worker_metrics_port: int = Field(
        9808, ge=0, description="Prometheus port of a worker process (the next free one if taken; 0: off)"
    )
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per log line")
    sweep_interval_s: float = Field(5.0, gt=0, description="How often one worker looks for stalled runs")

    # API access (docs/security.md)
    api_auth: Literal["required", "off"] = Field(
        "required",
        description="required: every route but health and docs needs a project's key; off: single user",
    )
    key_runs_per_hour: int = Field(
        100, ge=0, description="Runs one API key may submit per hour (0: no limit)"
    )
    key_datapoints_per_hour: int = Field(
        1_000_000, ge=0, description="Datapoints one API key may submit per hour (0: no limit)"
    )
    # the CLI and the Python client: with api_url set, the CLI works through the API
    api_url: str | None = Field(None, description="The labrun API, e.g. http://labrun-api:8000")
    api_key: SecretStr | None = Field(None, description="This user's key (lr_...), sent as a bearer token")

    def artifacts_location(self) -> str:
        return self.artifacts_url or str(self.home / "artifacts")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
