"""A run as a worker sees it, rebuilt from its config snapshot: the model, the call parameters
and the use case's prepared state. Immutable, so each worker process builds it once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labrun.shared.core.catalog import ModelSpec
from labrun.shared.usecases import registry
from labrun.shared.usecases.base import CallParams, PreparedRun, UseCase


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    use_case: UseCase
    spec: ModelSpec
    params: CallParams
    prepared: PreparedRun

    @classmethod
    def from_config(cls, run_id: str, config: Mapping[str, Any]) -> RunPlan:
        spec = ModelSpec.model_validate(config["model"])
        use_case = registry.get(config.get("use_case"))
        params = CallParams(
            model=spec.model,
            max_tokens=int(config["max_tokens"]),
            temperature=float(config.get("temperature", spec.temperature)),
            seed=config.get("seed"),
        )
        return cls(run_id, use_case, spec, params, use_case.load(config))
