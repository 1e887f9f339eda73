"""Load and validate models.yaml; resolve an alias to a :class:`ModelSpec`.

Endpoint and key of an alias (applied by labrun.worker.providers.credentials; see docs/endpoints.md):

- ``api_key_env`` set: the key is read from the environment variable of that NAME (never a key in
  the catalog); missing or empty: an ``auth`` failure at call time. It is sent only to ``base_url``,
  or without one to the provider's official endpoint (never where ``*_BASE_URL`` points).
- ``base_url`` set without ``api_key_env``: a keyless server (vLLM, Ollama...): no key is sent, only
  a fixed non-secret placeholder (the SDKs require one), never the provider's default key.
- neither: ``OPENAI_API_KEY`` + ``OPENAI_BASE_URL``; ``ANTHROPIC_API_KEY`` (or
  ``ANTHROPIC_AUTH_TOKEN``) + ``ANTHROPIC_BASE_URL``.

The legacy ``options.base_url`` is read as ``base_url``, which may not carry credentials
(``user:pass@``, a query). Run configs store the spec: the endpoint and the variable's name, no key.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

LIMIT_FIELDS = ("requests_per_min", "tokens_per_min", "input_tokens_per_min", "output_tokens_per_min")


class RateLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["provider", "model", "key"] = "model"
    requests_per_min: float | None = Field(None, gt=0)
    tokens_per_min: float | None = Field(None, gt=0)
    input_tokens_per_min: float | None = Field(None, gt=0)
    output_tokens_per_min: float | None = Field(None, gt=0)
    burst_seconds: float = Field(
        1.0, gt=0, description="Depth of labrun's buckets, in seconds of the rate (below the provider's)"
    )

    @property
    def any(self) -> bool:
        return any(getattr(self, f) for f in LIMIT_FIELDS)


class Prices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class ModelSpec(BaseModel):
    # hide_input_in_errors: a misplaced key (in api_key_env or base_url) is not echoed back
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), hide_input_in_errors=True)

    alias: str
    provider: str
    model: str
    base_url: str | None = Field(None, description="The endpoint; unset: the provider's default")
    # the NAME of the environment variable holding this alias's key (never the key itself)
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    price_per_1m: Prices
    limits: RateLimits = RateLimits()
    max_tokens: int = Field(64, gt=0)
    temperature: float = Field(0.0, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _legacy_base_url(cls, data: Any) -> Any:
        """``options.base_url`` (the old spelling) becomes ``base_url``."""
        options = data.get("options") if isinstance(data, dict) else None
        if not isinstance(options, dict) or "base_url" not in options:
            return data
        options = dict(options)
        legacy = options.pop("base_url")
        if data.get("base_url") not in (None, legacy):
            raise ValueError("base_url and options.base_url differ; keep base_url only")
        return {**data, "base_url": legacy, "options": options}

    @field_validator("base_url")
    @classmethod
    def _plain_url(cls, url: str | None) -> str | None:
        parts = urlsplit(url or "http://unset")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http(s) URL")
        if parts.username or parts.password or parts.query:
            raise ValueError("base_url must not carry credentials or a query; use api_key_env for the key")
        return url

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        p = self.price_per_1m
        return (prompt_tokens * p.input + completion_tokens * p.output) / 1_000_000


class UnknownModel(KeyError):
    def __init__(self, alias: str, known: list[str]):
        super().__init__(alias)
        self.alias, self.known = alias, known

    def __str__(self) -> str:
        return f"unknown model alias {self.alias!r}; known aliases: {', '.join(sorted(self.known))}"


class ModelCatalog(BaseModel):
    default: str
    models: dict[str, ModelSpec]

    def get(self, alias: str | None) -> ModelSpec:
        alias = alias or self.default
        if alias not in self.models:
            raise UnknownModel(alias, list(self.models))
        return self.models[alias]


def _env_overrides(alias: str, limits: dict[str, Any]) -> dict[str, Any]:
    out = dict(limits)
    for field in (*LIMIT_FIELDS, "burst_seconds", "scope"):
        value = os.environ.get(f"LABRUN_LIMIT_{alias.upper()}_{field.upper()}")
        if value is not None:
            out[field] = value
    return out


def parse_catalog(data: dict[str, Any], source: str = "models.yaml") -> ModelCatalog:
    defaults = data.get("defaults") or {}
    models = {}
    try:
        for alias, entry in (data.get("models") or {}).items():
            entry = {**defaults, **entry, "alias": alias}
            entry["limits"] = _env_overrides(alias, entry.get("limits") or {})
            models[alias] = ModelSpec.model_validate(entry)
        catalog = ModelCatalog(default=data.get("default") or next(iter(models)), models=models)
    except ValidationError as exc:
        raise ValueError(f"{source}: {exc}") from exc
    except StopIteration:
        raise ValueError(f"{source}: no models defined") from None
    catalog.get(catalog.default)
    return catalog


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> ModelCatalog:
    return parse_catalog(yaml.safe_load(Path(path).read_text()) or {}, source=path)


def load_catalog(path: Path | str | None = None) -> ModelCatalog:
    if path is None:
        from labrun.shared.core.config import get_settings

        path = get_settings().models_file
    p = Path(path)
    return _load(str(p), p.stat().st_mtime)
