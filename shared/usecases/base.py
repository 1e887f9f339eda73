"""The use-case seam: what one kind of experiment must say, and nothing the engine owns.

A :class:`UseCase` reads and validates its rows and options, snapshots what a run needs
(``prepare``), and, rebuilt in each worker from that snapshot (``load``), builds the call for one
datapoint (``request``) and judges the answer (``judge``). It may add metric segments and extra
metrics (SQL over ``predictions``) and its files to the run-directory export. The engine owns the
rest: tasks, limits, retries, rows, cost, latency, the chord, the lifecycle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from labrun.shared.core.calls import ChatResponse
from labrun.shared.core.verdict import Verdict
from labrun.shared.usecases.tables import Format, read_rows
from labrun.shared.usecases.values import (
    CallParams,
    CallPlan,
    DatapointIn,
    ExportSink,
    Options,
    Prepared,
)

__all__ = [
    "CallParams",
    "CallPlan",
    "DatapointIn",
    "ExportSink",
    "Options",
    "Prepared",
    "PreparedRun",
    "UseCase",
]


class PreparedRun(ABC):
    """A run's use-case state in a worker (taxonomy, labels, templates), built once per process."""

    @abstractmethod
    def request(self, dp: DatapointIn, params: CallParams) -> CallPlan: ...

    @abstractmethod
    def judge(self, dp: DatapointIn, plan: CallPlan, response: ChatResponse) -> Verdict: ...


class UseCase(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    # Metric segments beside "all": an SQL expression over a predictions row ``p`` (NULL: none).
    segment_sql: ClassVar[str | None] = None
    segments_title: ClassVar[str] = "by segment"
    # Extra metrics: SQL over the CTE ``seg(segment, <predictions columns>)`` that returns
    # ``(segment, extra jsonb)`` rows, stored in ``metrics.extra``.
    extra_metrics_sql: ClassVar[str | None] = None
    # The use case's options, and the upload form fields it reads beside them.
    options_schema: ClassVar[type[BaseModel] | None] = None
    form_fields: ClassVar[tuple[str, ...]] = ()
    # The columns a CSV keeps (None: all) and must have.
    columns: ClassVar[tuple[str, ...] | None] = None
    required_columns: ClassVar[tuple[str, ...]] = ()

    def read_file(
        self, data: bytes | Path, fmt: Format | None = None, filename: str | None = None
    ) -> list[Any]:
        """Rows of an uploaded file (CSV, JSONL, JSON); raises ``CatalogError`` naming rows."""
        return read_rows(data, fmt, filename=filename, columns=self.columns, required=self.required_columns)

    @abstractmethod
    def prepare(self, rows: list[Any], all_rows: list[Any], options: Options) -> Prepared:
        """Validate rows and options (``InputError`` naming ``("rows", n, field)`` or
        ``("options", name)``) and return the snapshot and datapoints. ``rows`` are those to run
        (after ``limit``); ``all_rows`` are all submitted."""

    @abstractmethod
    def load(self, config: Mapping[str, Any]) -> PreparedRun:
        """Rebuild the run's state from its config snapshot."""

    def option_names(self) -> tuple[str, ...]:
        names = tuple(self.options_schema.model_fields) if self.options_schema else ()
        return names + self.form_fields

    def form_options(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Options from upload form fields (a file field's value is its text; ``_filenames`` maps
        file fields to the uploaded file names)."""
        return {k: v for k, v in fields.items() if k != "_filenames"}

    def form_loc(self, loc: tuple[str | int, ...], fields: frozenset[str]) -> tuple[str | int, ...] | None:
        """The upload form field an error location of ``prepare`` belongs to (None: unchanged)."""
        return None

    def warnings(self, config: Mapping[str, Any]) -> list[str]:
        """What a user should know about a run from its config snapshot (shown at submit and
        with its metrics), e.g. expected labels that cannot be predicted."""
        return []

    def metric_lines(self, extra: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Rows the metrics table shows for this use case's extra metrics."""
        return []

    def segment_cells(self, extra: Mapping[str, Any]) -> dict[str, str]:
        """Extra columns of the per-segment table."""
        return {}

    def report_tables(self, extra: Mapping[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """Tables shown after the metrics: ``{title: (columns, rows)}``."""
        return {}

    def title_key(self, config: Mapping[str, Any]) -> str | None:
        """The input shown as ``title`` in outputs/classifications.csv."""
        return None

    def compact_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config snapshot as ``config/run_config.json`` shows it (bulky parts summarized)."""
        return config

    @abstractmethod
    def write_inputs(self, sink: ExportSink) -> dict[str, int]:
        """Write the use case's files under ``inputs/``; returns counts for the summary."""


def options_model(model: type[BaseModel], values: Mapping[str, Any]) -> Any:
    """Validate options with ``model``; errors name ``("options", field)``."""
    from pydantic import ValidationError

    from labrun.shared.core.errors import InputError

    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(("options", *map(str, err["loc"])), err["msg"]) from None
