"""Assign-cat: classify products into a category taxonomy (the first use case)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from labrun.shared.core.errors import InputError
from labrun.shared.usecases import registry
from labrun.shared.usecases.assign_cat import export, form, metrics
from labrun.shared.usecases.assign_cat.catalog import read_catalog
from labrun.shared.usecases.assign_cat.prompt import (
    DEFAULT_SYSTEM,
    DEFAULT_USER,
    PromptError,
    PromptTemplate,
    validate_template,
)
from labrun.shared.usecases.assign_cat.run import AssignCatRun
from labrun.shared.usecases.assign_cat.schemas import AssignCatOptions, ProductRow, TaxonomySpec
from labrun.shared.usecases.assign_cat.taxonomy import Taxonomy, TaxonomyError, join_path, split_path
from labrun.shared.usecases.base import DatapointIn, ExportSink, Options, Prepared, UseCase, options_model


def build_taxonomy(spec: TaxonomySpec, rows: list[ProductRow]) -> Taxonomy:
    try:
        if spec.source in ("google", "text"):
            if not spec.text:
                raise InputError(("taxonomy", "text"), f"taxonomy.source {spec.source!r} needs taxonomy.text")
            if spec.source == "google":
                return Taxonomy.from_google_text(spec.text, source=spec.name or "google")
            return Taxonomy.from_text(spec.text, source=spec.name)
        if spec.source == "paths":
            if not spec.paths:
                raise InputError(("taxonomy", "paths"), "taxonomy.source 'paths' needs taxonomy.paths")
            return Taxonomy.from_paths(spec.paths, source=spec.name or "paths")
        return Taxonomy.from_labels(rows, source=spec.name or "labels")
    except TaxonomyError as exc:
        raise InputError(("taxonomy", spec.source), str(exc)) from None


def _rows(rows: list[Any]) -> list[ProductRow]:
    out = []
    for i, row in enumerate(rows, 1):
        try:
            out.append(row if isinstance(row, ProductRow) else ProductRow.model_validate(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InputError(("rows", i, *map(str, err["loc"])), err["msg"]) from None
    return out


def _expected(label: str | None, row: int) -> str | None:
    if not label:
        return None
    try:
        return join_path(split_path(label))
    except TaxonomyError as exc:
        raise InputError(("rows", row, "category"), str(exc)) from None


def _template(options: Options) -> PromptTemplate:
    """The run's templates, validated once here (never per datapoint)."""
    template = PromptTemplate(options.system or DEFAULT_SYSTEM, options.user or DEFAULT_USER)
    for field, text in (("system", template.system), ("user", template.user)):
        try:
            validate_template(text, f"prompt.{field}")
        except PromptError as exc:
            raise InputError(("prompt", field), str(exc)) from None
    try:
        template.validate()
    except PromptError as exc:
        raise InputError(("prompt",), str(exc)) from None
    return template


@registry.register
class AssignCat(UseCase):
    name = "assign-cat"
    description = "Classify products into a category taxonomy (accuracy per path level)"
    segment_sql = metrics.SEGMENT_SQL
    segments_title = "by top-level expected category"
    extra_metrics_sql = metrics.EXTRA_METRICS_SQL
    options_schema = AssignCatOptions
    form_fields = ("taxonomy_file", "taxonomy_source")

    def read_file(self, data: Any, fmt: Any = None, filename: str | None = None) -> list[Any]:
        return read_catalog(data, fmt, filename=filename)

    def prepare(self, rows: list[Any], all_rows: list[Any], options: Options) -> Prepared:
        opts: AssignCatOptions = options_model(AssignCatOptions, options.values)
        products = _rows(rows)
        taxonomy = build_taxonomy(opts.taxonomy, _rows(all_rows) if all_rows is not rows else products)
        template = _template(options)
        datapoints: list[DatapointIn] = []
        seen: dict[str, int] = {}
        for i, p in enumerate(products, 1):
            ext = p.id or str(i)
            if ext in seen:
                raise InputError(("rows", i, "id"), f"duplicate id {ext!r} (also row {seen[ext]})")
            seen[ext] = i
            inputs = {"title": p.title, "description": p.description, "brand": p.brand}
            datapoints.append(DatapointIn(ext, inputs, _expected(p.category, i)))
        unknown = sorted({p.category for p in products if p.category and p.category not in taxonomy})
        snapshot = {
            "prompt": {
                "system": template.system,
                "user": template.user,
                "max_candidates": opts.max_candidates,
            },
            "taxonomy": {"source": taxonomy.source, "sha256": taxonomy.sha256, "paths": list(taxonomy.paths)},
            "labels_outside_taxonomy": unknown[:100],
            "n_labels_outside_taxonomy": len(unknown),
            "n_rows_outside_taxonomy": sum(1 for p in products if p.category and p.category not in taxonomy),
        }
        return Prepared(snapshot, datapoints)

    def warnings(self, config: Mapping[str, Any]) -> list[str]:
        n = int(config.get("n_labels_outside_taxonomy") or 0)
        if not n:
            return []
        rows = config.get("n_rows_outside_taxonomy")
        some = ", ".join(repr(x) for x in (config.get("labels_outside_taxonomy") or [])[:3])
        return [
            f"{n} expected categories ({rows if rows is not None else '?'} rows) are not in the taxonomy, "
            f"so those rows can never be judged right (e.g. {some}); pass the taxonomy they come from"
        ]

    def load(self, config: Mapping[str, Any]) -> AssignCatRun:
        return AssignCatRun.from_config(config)

    def form_options(self, fields: dict[str, Any]) -> dict[str, Any]:
        return form.form_options(dict(fields))

    def form_loc(self, loc: tuple[str | int, ...], fields: frozenset[str]) -> tuple[str | int, ...] | None:
        return form.form_loc(loc, fields)

    def metric_lines(self, extra: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [("accuracy by level", metrics.levels_line(dict(extra)) or "-")]

    def segment_cells(self, extra: Mapping[str, Any]) -> dict[str, str]:
        return {"L1 acc": metrics._pct((extra.get("accuracy_by_level") or {}).get("1"))}

    def title_key(self, config: Mapping[str, Any]) -> str | None:
        return "title"

    def compact_config(self, config: dict[str, Any]) -> dict[str, Any]:
        tax = config.get("taxonomy") or {}
        summary = {k: v for k, v in tax.items() if k != "paths"}
        return {
            **config,
            "taxonomy": {**summary, "count": len(tax.get("paths") or []), "sha256": tax.get("sha256")},
        }

    def write_inputs(self, sink: ExportSink) -> dict[str, int]:
        return export.write_inputs(sink)
