"""``POST /runs`` as ``multipart/form-data``: a catalog file plus form fields -> :class:`RunCreate`.

Errors name the form field (``["body", "limit"]``, ``["body", "taxonomy_file"]``) or the catalog
row (``["body", "file", "row 17", "title"]``), never the internal ``RunCreate`` path.
"""

from __future__ import annotations

import re
from typing import Any, cast

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from api.errors import Loc, error, invalid, validation_errors
from shared.assign_cat.catalog_io import Format, read_catalog
from shared.errors import InputError
from shared.schemas import RunCreate

FILE_FIELDS = ("file", "taxonomy_file")
TEXT_FIELDS = (
    "format",
    "model",
    "limit",
    "experiment",
    "dataset_name",
    "max_candidates",
    "max_tokens",
    "taxonomy_source",
    "prompt_system",
    "prompt_user",
)
FORMATS = ("csv", "jsonl", "json")
TAXONOMY_SOURCES = ("labels", "google", "paths")
_GOOGLE_LINE = re.compile(r"^\d+\s+-\s+\S")
_RENAMES: dict[Loc, Loc] = {
    ("prompt", "system"): ("prompt_system",),
    ("prompt", "user"): ("prompt_user",),
    ("prompt", "max_candidates"): ("max_candidates",),
    ("taxonomy", "source"): ("taxonomy_source",),
}


def form_loc(loc: Loc, has_taxonomy_file: bool = False) -> Loc:
    """Where a ``RunCreate`` location is in the upload (``("rows", 3, "id")`` -> file, row 3, id)."""
    if loc[:1] == ("rows",):
        return ("file", f"row {loc[1]}", *loc[2:]) if len(loc) > 1 else ("file",)
    for prefix, target in _RENAMES.items():
        if loc[: len(prefix)] == prefix:
            return target + loc[len(prefix) :]
    if loc[:1] == ("taxonomy",):
        return ("taxonomy_file",) if has_taxonomy_file else ("taxonomy_source",)
    return loc


def upload_input_error(exc: InputError, has_taxonomy_file: bool) -> InputError:
    return InputError(form_loc(tuple(exc.loc), has_taxonomy_file), exc.message)


def _fail(loc: Loc, msg: str, type_: str = "value_error") -> Exception:
    return invalid([error(loc, msg, type_)])


def _present(value: Any) -> bool:
    """Browsers send an empty part for an empty file input or text box."""
    if isinstance(value, UploadFile):
        return bool(value.filename) or bool(value.size)
    return value is not None and bool(value.strip())


async def _taxonomy(upload: Any, source: str | None) -> dict[str, Any]:
    if source is not None and source not in TAXONOMY_SOURCES:
        raise _fail(("taxonomy_source",), f"must be one of {', '.join(TAXONOMY_SOURCES)}, got {source!r}")
    if not _present(upload):
        if source in ("google", "paths"):
            raise _fail(
                ("taxonomy_file",), f"taxonomy_source {source!r} needs a taxonomy_file upload", "missing"
            )
        return {"source": "labels"}
    if source == "labels":
        raise _fail(
            ("taxonomy_source",),
            "taxonomy_source 'labels' uses the rows' own categories: "
            "drop taxonomy_file or set taxonomy_source to 'google' or 'paths'",
        )
    try:
        text = (await upload.read()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(("taxonomy_file",), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    source = source or ("google" if lines and _GOOGLE_LINE.match(lines[0]) else "paths")
    name = upload.filename or source
    if source == "google":
        return {"source": "google", "text": text, "name": name}
    return {"source": "paths", "paths": lines, "name": name}


async def parse_upload(form: FormData) -> tuple[RunCreate, str]:
    """Validate the form and read the catalog; returns the request and the dataset source."""
    known = FILE_FIELDS + TEXT_FIELDS
    unknown = sorted(set(form.keys()) - set(known))
    if unknown:
        raise invalid(
            [
                error((k,), f"unknown form field {k!r}; known fields: {', '.join(known)}", "extra_forbidden")
                for k in unknown
            ]
        )
    for name in TEXT_FIELDS:
        if isinstance(form.get(name), UploadFile):
            raise _fail((name,), f"{name!r} must be a text field, not a file")
    fields = {k: v for k in TEXT_FIELDS if isinstance(v := form.get(k), str) and v.strip()}
    upload = form.get("file")
    if not _present(upload):
        raise _fail(("file",), "Field required: upload the catalog (CSV, JSONL or JSON) as 'file'", "missing")
    if not isinstance(upload, UploadFile):
        raise _fail(("file",), "'file' must be a file upload (CSV, JSONL or JSON), not a text field")
    fmt = fields.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise _fail(("format",), f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    taxonomy = await _taxonomy(form.get("taxonomy_file"), fields.get("taxonomy_source"))
    data = await upload.read()
    fmt_ = cast("Format | None", fmt)
    rows = await run_in_threadpool(read_catalog, data, fmt_, filename=upload.filename)  # CatalogError: 422
    payload = {
        "model": fields.get("model"),
        "rows": rows,
        "taxonomy": taxonomy,
        "prompt": {
            k: fields[f]
            for k, f in (
                ("system", "prompt_system"),
                ("user", "prompt_user"),
                ("max_candidates", "max_candidates"),
            )
            if f in fields
        },
        "experiment": fields.get("experiment"),
        "dataset_name": fields.get("dataset_name") or upload.filename,
        "limit": fields.get("limit"),
        "max_tokens": fields.get("max_tokens"),
    }
    try:
        req = RunCreate.model_validate(payload)
    except ValidationError as exc:
        has_file = taxonomy["source"] != "labels"
        raise invalid(validation_errors(exc, lambda loc: form_loc(loc, has_file))) from None
    return req, upload.filename or "upload"
