"""Create a run: validate everything first, then write dataset, datapoints, experiment and run
in one transaction (nothing half-created), with a full config snapshot (no secrets)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared.assign_cat.prompt import (
    DEFAULT_SYSTEM,
    DEFAULT_USER,
    PromptError,
    PromptTemplate,
    validate_template,
)
from shared.assign_cat.taxonomy import Taxonomy, TaxonomyError, join_path, split_path
from shared.db.models import Datapoint, Dataset, Experiment, Run
from shared.errors import InputError
from shared.llm.catalog import ModelSpec, UnknownModel, load_catalog
from shared.runs.snapshot import system_info
from shared.schemas import ProductRow, RunCreate, TaxonomySpec

USE_CASE = "assign-cat"


def new_run_id(use_case: str = USE_CASE) -> str:
    return f"{use_case}-{datetime.now(UTC):%Y-%m-%d-%H%M%S}-{secrets.token_hex(2)}"


def resolve_model(alias: str | None) -> ModelSpec:
    try:
        return load_catalog().get(alias)
    except UnknownModel as exc:
        raise InputError(("model",), str(exc)) from None


def build_taxonomy(spec: TaxonomySpec, rows: list[ProductRow]) -> Taxonomy:
    try:
        if spec.source == "google":
            if not spec.text:
                raise InputError(("taxonomy", "text"), "taxonomy.source 'google' needs taxonomy.text")
            return Taxonomy.from_google_text(spec.text, source=spec.name or "google")
        if spec.source == "paths":
            if not spec.paths:
                raise InputError(("taxonomy", "paths"), "taxonomy.source 'paths' needs taxonomy.paths")
            return Taxonomy.from_paths(spec.paths, source=spec.name or "paths")
        return Taxonomy.from_labels(rows, source=spec.name or "labels")
    except TaxonomyError as exc:
        raise InputError(("taxonomy", spec.source), str(exc)) from None


def _check_ids(rows: list[ProductRow]) -> list[str]:
    ids: list[str] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, 1):
        ext = row.id or str(i)
        if ext in seen:
            raise InputError(("rows", i, "id"), f"duplicate id {ext!r} (also row {seen[ext]})")
        seen[ext] = i
        ids.append(ext)
    return ids


def _dataset(session: Session, rows: list[ProductRow], ids: list[str], name: str, source: str | None) -> int:
    payload = [{"id": e, **r.model_dump(exclude={"id"})} for e, r in zip(ids, rows, strict=True)]
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    existing = session.scalar(select(Dataset.id).where(Dataset.content_sha256 == digest))
    if existing is not None:
        return existing
    ds = Dataset(name=name, content_sha256=digest, n_rows=len(rows), source=source)
    session.add(ds)
    session.flush()
    values = [
        {
            "dataset_id": ds.id,
            "external_id": p["id"],
            "position": i,
            "inputs": {k: p[k] for k in ("title", "description", "brand")},
            "expected": _normalized(p["category"], i),
        }
        for i, p in enumerate(payload)
    ]
    for start in range(0, len(values), 5000):
        session.execute(insert(Datapoint), values[start : start + 5000])
    return ds.id


def _normalized(label: str | None, index: int) -> str | None:
    if not label:
        return None
    try:
        return join_path(split_path(label))
    except TaxonomyError as exc:
        raise InputError(("rows", index + 1, "category"), str(exc)) from None


def _experiment(session: Session, name: str) -> int:
    exp_id = session.scalar(select(Experiment.id).where(Experiment.name == name))
    if exp_id is None:
        exp = Experiment(name=name, config={"use_case": USE_CASE})
        session.add(exp)
        session.flush()
        exp_id = exp.id
    return exp_id


def run_config(req: RunCreate, spec: ModelSpec, taxonomy: Taxonomy, rows: list[ProductRow]) -> dict[str, Any]:
    system = req.prompt.system or DEFAULT_SYSTEM
    user = req.prompt.user or DEFAULT_USER
    for field, text in (("system", system), ("user", user)):
        try:
            validate_template(text, f"prompt.{field}")
        except PromptError as exc:
            raise InputError(("prompt", field), str(exc)) from None
    try:
        PromptTemplate(system, user).validate()
    except PromptError as exc:
        raise InputError(("prompt",), str(exc)) from None
    unknown = sorted({r.category for r in rows if r.category and r.category not in taxonomy})
    return {
        "use_case": USE_CASE,
        "model": spec.model_dump(mode="json"),
        "max_tokens": req.max_tokens or spec.max_tokens,
        "prompt": {"system": system, "user": user, "max_candidates": req.prompt.max_candidates},
        "taxonomy": {"source": taxonomy.source, "sha256": taxonomy.sha256, "paths": list(taxonomy.paths)},
        "labels_outside_taxonomy": unknown[:100],
        "n_labels_outside_taxonomy": len(unknown),
        "system": system_info(),
    }


def create_run(session: Session, req: RunCreate, *, source: str | None = None) -> Run:
    """Validate ``req`` and insert the run (status ``queued``). The caller commits, then dispatches."""
    spec = resolve_model(req.model)
    rows = req.rows[: req.limit] if req.limit else list(req.rows)
    ids = _check_ids(rows)
    taxonomy = build_taxonomy(req.taxonomy, list(req.rows))
    config = run_config(req, spec, taxonomy, rows)
    name = req.dataset_name or (source or "inline")
    dataset_id = _dataset(session, rows, ids, name, source)
    # datasets are shared by content; the name and source this run was submitted with are its own
    config["dataset"] = {"name": name, "source": source}
    run = Run(
        id=new_run_id(),
        experiment_id=_experiment(session, req.experiment or USE_CASE),
        dataset_id=dataset_id,
        use_case=USE_CASE,
        model_alias=spec.alias,
        status="queued",
        config=config,
        n_total=len(rows),
    )
    session.add(run)
    session.flush()
    return run
