"""OpenAPI documentation of ``POST /runs``: one route, two request bodies (JSON or a file upload).

The route reads the raw request itself, so FastAPI cannot infer its body: we describe both media
types with ``openapi_extra`` and add the ``RunCreate`` schema (and its parts) to the components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from labrun.shared.core.schemas import RunCreate

REF = "#/components/schemas/{model}"


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


UPLOAD_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": _text("The data: CSV (header row), JSONL or a JSON array of rows", format="binary"),
        "use_case": _text("The use case (assign-cat, classify, ...); assign-cat if unset"),
        "options": _text("The use case's options as one JSON object; any other field is one option too"),
        "format": _text(
            "csv | jsonl | json; guessed from the file name and content if unset",
            enum=["csv", "jsonl", "json"],
        ),
        "model": _text("Model alias from models.yaml; the default alias if unset"),
        "limit": {"type": "integer", "minimum": 1, "description": "Only the first N rows"},
        "experiment": _text("Experiment name (runs are grouped by it)"),
        "dataset_name": _text("Dataset name; the file name if unset"),
        "max_candidates": {
            "description": "assign-cat: categories shown in the prompt",
            "type": "integer",
            "minimum": 1,
            "maximum": 10_000,
            "default": 300,
        },
        "max_tokens": {"type": "integer", "minimum": 1, "maximum": 16_384},
        "taxonomy_source": _text(
            "assign-cat. labels: the rows' own categories; google: taxonomy_file in Google's 'ID - A > B' format; "
            "paths: taxonomy_file with one 'A > B > C' path per line. Unset: labels without a "
            "taxonomy_file, else guessed from the file",
            enum=["labels", "google", "paths"],
        ),
        "taxonomy_file": _text(
            "assign-cat: the taxonomy (with taxonomy_source google or paths)", format="binary"
        ),
        "prompt_system": _text(
            "System prompt template (assign-cat: {title}, {description}, {brand}, {categories}, {id})"
        ),
        "prompt_user": _text("User prompt template"),
    },
}

RUN_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": REF.format(model="RunCreate")}},
            "multipart/form-data": {"schema": UPLOAD_FORM},
        },
    }
}


def install_openapi(app: FastAPI) -> None:
    """Generate the schema once, with ``RunCreate`` and its nested models in the components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            run_create = RunCreate.model_json_schema(ref_template=REF)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, sub in run_create.pop("$defs", {}).items():
                components.setdefault(name, sub)
            components["RunCreate"] = run_create
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
