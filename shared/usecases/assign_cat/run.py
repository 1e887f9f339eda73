"""Assign-cat in a worker: shortlist the taxonomy, render the prompt, parse and score the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrun.shared.core.calls import ChatRequest, ChatResponse
from labrun.shared.core.verdict import Verdict
from labrun.shared.usecases.assign_cat.parser import parse_answer
from labrun.shared.usecases.assign_cat.prompt import PromptTemplate, render
from labrun.shared.usecases.assign_cat.scoring import is_correct
from labrun.shared.usecases.assign_cat.taxonomy import Taxonomy, split_path
from labrun.shared.usecases.base import CallParams, CallPlan, DatapointIn, PreparedRun


class AssignCatRun(PreparedRun):
    def __init__(self, taxonomy: Taxonomy, template: PromptTemplate, max_candidates: int) -> None:
        self.taxonomy, self.template, self.max_candidates = taxonomy, template, max_candidates

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AssignCatRun:
        prompt, tax = config["prompt"], config["taxonomy"]
        return cls(
            Taxonomy.from_paths(tax["paths"], source=tax["source"]),
            PromptTemplate(system=prompt["system"], user=prompt["user"]),
            int(prompt["max_candidates"]),
        )

    def request(self, dp: DatapointIn, params: CallParams) -> CallPlan:
        inputs = dp.inputs
        product = " ".join(str(inputs.get(k) or "") for k in ("title", "brand", "description"))
        candidates = self.taxonomy.shortlist(product, self.max_candidates)
        prompt = render(self.template, {"id": dp.external_id, **inputs}, candidates)
        request = ChatRequest.chat(
            params.model,
            prompt.system,
            prompt.user,
            params.max_tokens,
            temperature=params.temperature,
            seed=params.seed,
        )
        return CallPlan(request, candidates)

    def judge(self, dp: DatapointIn, plan: CallPlan, response: ChatResponse) -> Verdict:
        parsed = parse_answer(response.text, self.taxonomy, plan.memo)
        expected_path = split_path(dp.expected) if dp.expected else None
        if parsed.path is None:
            return Verdict.unparsable(
                f"could not map the answer to the taxonomy: {response.text[:200]!r}",
                parsed_path=None,
                expected_path=expected_path,
                parse_method=None,
            )
        return Verdict.valid(
            parsed.path,
            is_correct(parsed.path, dp.expected),
            parsed_path=split_path(parsed.path),
            expected_path=expected_path,
            parse_method=parsed.method,
        )
