"""Everything a worker needs to process datapoints of a run, rebuilt from the run's config snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.assign_cat.prompt import PromptTemplate
from shared.assign_cat.taxonomy import Taxonomy
from shared.llm.catalog import ModelSpec


@dataclass(frozen=True)
class RunContext:
    run_id: str
    spec: ModelSpec
    taxonomy: Taxonomy
    template: PromptTemplate
    max_candidates: int
    max_tokens: int

    @classmethod
    def from_config(cls, run_id: str, config: dict[str, Any]) -> RunContext:
        prompt = config["prompt"]
        return cls(
            run_id=run_id,
            spec=ModelSpec.model_validate(config["model"]),
            taxonomy=Taxonomy.from_paths(config["taxonomy"]["paths"], source=config["taxonomy"]["source"]),
            template=PromptTemplate(system=prompt["system"], user=prompt["user"]),
            max_candidates=int(prompt["max_candidates"]),
            max_tokens=int(config["max_tokens"]),
        )
