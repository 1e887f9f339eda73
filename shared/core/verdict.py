"""What a use case's ``judge`` says about one answer: the prediction's status and its fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PredictionStatus(StrEnum):
    """A prediction row is valid (``succeeded``) or not (``failed``, with an error type), or was
    never called (``skipped_budget``: the run's budget could not cover the call; neither a failure
    nor an answer, counted apart in the metrics)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED_BUDGET = "skipped_budget"


@dataclass(frozen=True)
class Verdict:
    status: PredictionStatus
    parsed: str | None = None  # the answer as the use case reads it (a label, a path)
    correct: bool | None = None  # None: not scored (no expected value, or not valid)
    error_type: str | None = None  # one of ERROR_TYPES when failed
    error_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # use-case fields, stored as JSONB

    @classmethod
    def valid(cls, parsed: str, correct: bool | None, **details: Any) -> Verdict:
        return cls(PredictionStatus.SUCCEEDED, parsed, correct, details=details)

    @classmethod
    def unparsable(cls, message: str, **details: Any) -> Verdict:
        return cls(PredictionStatus.FAILED, None, None, "parse_error", message, details)
