"""Classify in a worker: render the prompt over the row's columns, match the answer to a label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrun.shared.core.calls import ChatRequest, ChatResponse
from labrun.shared.core.verdict import Verdict
from labrun.shared.usecases.base import CallParams, CallPlan, DatapointIn, PreparedRun
from labrun.shared.usecases.classify.answers import match_label
from labrun.shared.usecases.classify.prompt import format_labels, render


class ClassifyRun(PreparedRun):
    def __init__(self, labels: list[str], system: str, user: str) -> None:
        self.labels, self.system, self.user = labels, system, user
        self.labels_text = format_labels(labels)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClassifyRun:
        prompt = config["prompt"]
        return cls(list(config["labels"]), prompt["system"], prompt["user"])

    def request(self, dp: DatapointIn, params: CallParams) -> CallPlan:
        row = {"id": dp.external_id, **{k: str(v) for k, v in dp.inputs.items()}}
        system = render(self.system, row, self.labels_text)
        user = render(self.user, row, self.labels_text)
        return CallPlan(
            ChatRequest.chat(
                params.model,
                system,
                user,
                params.max_tokens,
                temperature=params.temperature,
                seed=params.seed,
            )
        )

    def judge(self, dp: DatapointIn, plan: CallPlan, response: ChatResponse) -> Verdict:
        label, method = match_label(response.text, self.labels)
        if label is None:
            return Verdict.unparsable(f"the answer names none of the labels: {response.text[:200]!r}")
        correct = None if dp.expected is None else label == dp.expected
        return Verdict.valid(label, correct, parse_method=method)
