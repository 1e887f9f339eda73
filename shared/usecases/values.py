"""The values that cross the use-case seam: datapoints, what ``prepare`` returns, the engine's
call parameters and options, the call plan, and the export sink a use case writes through."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from labrun.shared.core.calls import ChatRequest


@dataclass(frozen=True)
class DatapointIn:
    """One datapoint as stored: its id in the user's data, the inputs, the expected answer."""

    external_id: str
    inputs: dict[str, Any]
    expected: str | None = None


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` returns: the use case's part of the run's config snapshot (JSON) and the
    datapoints to store."""

    snapshot: dict[str, Any]
    datapoints: list[DatapointIn]


@dataclass(frozen=True)
class CallParams:
    """The engine's generation parameters for every call of a run."""

    model: str
    max_tokens: int
    temperature: float = 0.0
    seed: int | None = None


@dataclass(frozen=True)
class CallPlan:
    """The request for one datapoint, plus whatever ``judge`` needs to remember (``memo``)."""

    request: ChatRequest
    memo: Any = None


class ExportSink(Protocol):
    """What a use case writes its export files through (implemented by the runs floor)."""

    @property
    def run_id(self) -> str: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    def path(self, relative: str) -> Path: ...
    def write_json(self, relative: str, data: Any) -> None: ...
    def scrub(self, text: str) -> str: ...
    def datapoints(self) -> Iterator[tuple[str, dict[str, Any], str | None]]: ...


@dataclass
class Options:
    """Engine-level inputs of ``prepare`` beside the rows."""

    values: dict[str, Any] = field(default_factory=dict)  # the use case's own options
    system: str | None = None  # prompt templates (None: the use case's default)
    user: str | None = None
