"""Classify: a table with an id column, text columns and an optional expected label, into a fixed
label set, with a prompt template over the row's columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrun.shared.core.errors import InputError
from labrun.shared.usecases import registry
from labrun.shared.usecases.base import DatapointIn, ExportSink, Options, Prepared, UseCase, options_model
from labrun.shared.usecases.classify import export, metrics
from labrun.shared.usecases.classify.options import ClassifyOptions
from labrun.shared.usecases.classify.prompt import DEFAULT_SYSTEM, default_user
from labrun.shared.usecases.classify.run import ClassifyRun
from labrun.shared.usecases.templates import PromptError, validate_template

MAX_FIELD_CHARS = 20_000


def _text(value: Any) -> str:
    return (
        "" if value is None else " ".join(str(value).split()) if not isinstance(value, str) else value.strip()
    )


def _label_set(opts: ClassifyOptions, rows: list[dict[str, Any]]) -> tuple[list[str], str]:
    if opts.labels is not None:
        return opts.labels, "options"
    found = sorted({v for r in rows if (v := _text(r.get(opts.label_column)))})
    if not found:
        raise InputError(
            ("options", "labels"), f"give the label set: no row has a {opts.label_column!r} value"
        )
    return found, "rows"


@registry.register
class Classify(UseCase):
    name = "classify"
    description = "Classify texts (any columns) into a fixed label set (per-label P/R/F1, confusion)"
    options_schema = ClassifyOptions
    segment_sql = metrics.SEGMENT_SQL
    segments_title = "by expected label"
    extra_metrics_sql = metrics.EXTRA_METRICS_SQL

    def prepare(self, rows: list[Any], all_rows: list[Any], options: Options) -> Prepared:
        opts: ClassifyOptions = options_model(ClassifyOptions, options.values)
        labels, source = _label_set(opts, all_rows)
        canonical = {label.casefold(): label for label in labels}
        columns = [c for c in rows[0] if c not in (opts.id_column, opts.label_column)]
        text_columns = opts.text_columns or columns
        datapoints: list[DatapointIn] = []
        seen: dict[str, int] = {}
        for i, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise InputError(("rows", i), "expected an object of column values")
            ext = _text(row.get(opts.id_column)) or str(i)
            if ext in seen:
                raise InputError(("rows", i, opts.id_column), f"duplicate id {ext!r} (also row {seen[ext]})")
            seen[ext] = i
            inputs = {k: _text(v) for k, v in row.items() if k not in (opts.id_column, opts.label_column)}
            for col in text_columns:
                if col not in inputs:
                    raise InputError(
                        ("rows", i, col), f"missing column {col!r} (a text column of the prompt)"
                    )
                if len(inputs[col]) > MAX_FIELD_CHARS:
                    raise InputError(("rows", i, col), f"longer than {MAX_FIELD_CHARS} characters")
            expected = _text(row.get(opts.label_column)) or None
            if expected is not None:
                if expected.casefold() not in canonical:
                    raise InputError(("rows", i, opts.label_column), f"{expected!r} is not one of the labels")
                expected = canonical[expected.casefold()]
            datapoints.append(DatapointIn(ext, inputs, expected))
        system, user = options.system or DEFAULT_SYSTEM, options.user or default_user(text_columns)
        variables = {*columns, "id", "labels"}
        for field, text in (("system", system), ("user", user)):
            try:
                validate_template(text, f"prompt.{field}", variables)
            except PromptError as exc:
                raise InputError(("prompt", field), str(exc)) from None
        snapshot = {
            "prompt": {"system": system, "user": user},
            "labels": labels,
            "labels_source": source,
            "columns": {"id": opts.id_column, "label": opts.label_column, "text": text_columns},
        }
        return Prepared(snapshot, datapoints)

    def load(self, config: Mapping[str, Any]) -> ClassifyRun:
        return ClassifyRun.from_config(config)

    def form_options(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in fields.items() if k != "_filenames"}

    def report_tables(self, extra: Mapping[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
        if not extra.get("per_label"):
            return {}
        return {
            "per label": metrics.per_label_table(extra),
            "confusion matrix": metrics.confusion_table(extra),
        }

    def title_key(self, config: Mapping[str, Any]) -> str | None:
        text = (config.get("columns") or {}).get("text") or []
        return text[0] if text else None

    def write_inputs(self, sink: ExportSink) -> dict[str, int]:
        return export.write_inputs(sink)
