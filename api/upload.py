"""``POST /runs`` as ``multipart/form-data``: a data file plus form fields -> :class:`RunCreate`.

Generic over use cases: the engine's fields are listed below; every other field is one of the use
case's options (a text field, or a file whose text is the value), validated by the use case. An
``options`` field may carry them all as one JSON object. Errors name the form field
(``["body", "limit"]``) or the file's row (``["body", "file", "row 17", "title"]``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from labrun.api.errors import Loc, error, invalid, validation_errors
from labrun.shared.core.errors import InputError
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.upload_locs import form_loc
from labrun.shared.usecases import registry
from labrun.shared.usecases.tables import Format

TEXT_FIELDS = (
    "use_case",
    "format",
    "model",
    "limit",
    "experiment",
    "dataset_name",
    "max_tokens",
    "prompt_system",
    "prompt_user",
    "options",
    "temperature",
    "seed",
    "cache",
    "max_cost_usd",
)
FORMATS = ("csv", "jsonl", "json")


def upload_input_error(exc: InputError, option_fields: frozenset[str], use_case: str) -> InputError:
    return InputError(form_loc(tuple(exc.loc), option_fields, use_case), exc.message)


def _fail(loc: Loc, msg: str, type_: str = "value_error") -> Exception:
    return invalid([error(loc, msg, type_)])


def _present(value: Any) -> bool:
    """Browsers send an empty part for an empty file input or text box."""
    if isinstance(value, UploadFile):
        return bool(value.filename) or bool(value.size)
    return value is not None and bool(value.strip())


async def _option_values(form: FormData, fields: dict[str, str]) -> dict[str, Any]:
    """The use case's options: the ``options`` JSON object, then each other form field."""
    options: dict[str, Any] = {}
    if "options" in fields:
        try:
            options = json.loads(fields["options"])
        except ValueError as exc:
            raise _fail(("options",), f"not a JSON object: {exc}") from None
        if not isinstance(options, dict):
            raise _fail(("options",), "must be a JSON object of the use case's options")
    for name in sorted(set(form.keys()) - {*TEXT_FIELDS, "file"}):
        value = form.get(name)
        if isinstance(value, UploadFile):
            if not _present(value):
                continue
            try:
                options[name] = (await value.read()).decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise _fail((name,), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            options.setdefault("_filenames", {})[name] = value.filename
        elif isinstance(value, str) and value.strip():
            options[name] = value
    return options


@dataclass(frozen=True)
class Deferred:
    """A file too large to read within the request: read at dispatch (D34)."""

    data: bytes
    fmt: str | None
    filename: str
    approx_rows: int  # for the submission quota, before the rows are read


@dataclass(frozen=True)
class Upload:
    req: RunCreate  # with one placeholder row when deferred
    source: str  # the file's name
    option_fields: frozenset[str]  # to name them in errors
    deferred: Deferred | None = None


def _approx_rows(data: bytes) -> int:
    """About the file's rows (its lines, the CSV header aside) without parsing it."""
    return max(1, data.count(b"\n") - (1 if data[:1] not in (b"{", b"[") else 0))


async def parse_upload(form: FormData, defer_above: float = float("inf")) -> Upload:
    """Validate the form and read the file. A file larger than ``defer_above`` bytes is not read:
    everything else is validated with one placeholder row, and the file comes back as is."""
    for name in TEXT_FIELDS:
        if isinstance(form.get(name), UploadFile):
            raise _fail((name,), f"{name!r} must be a text field, not a file")
    fields = {k: v for k in TEXT_FIELDS if isinstance(v := form.get(k), str) and v.strip()}
    use_case_name = fields.get("use_case") or registry.DEFAULT
    use_case = registry.get(use_case_name)  # InputError -> 422 on use_case
    known = ("file", *TEXT_FIELDS, *use_case.option_names())
    if unknown := sorted(set(form.keys()) - set(known)):
        entries = [
            error((k,), f"unknown form field {k!r}; known fields: {', '.join(known)}", "extra_forbidden")
            for k in unknown
        ]
        raise invalid(entries)
    upload = form.get("file")
    if not _present(upload):
        raise _fail(("file",), "Field required: upload the data (CSV, JSONL or JSON) as 'file'", "missing")
    if not isinstance(upload, UploadFile):
        raise _fail(("file",), "'file' must be a file upload (CSV, JSONL or JSON), not a text field")
    fmt = fields.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise _fail(("format",), f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    raw_options = await _option_values(form, fields)
    option_fields = frozenset(k for k in form.keys() if k not in (*TEXT_FIELDS, "file"))
    options = use_case.form_options(raw_options)  # InputError naming the field
    data = await upload.read()
    deferred = len(data) > defer_above
    if deferred:
        rows: list[dict[str, Any]] = [{}]  # read at dispatch (shared/runs/deferred.py)
    else:
        parsed = await run_in_threadpool(
            use_case.read_file, data, cast("Format | None", fmt), upload.filename
        )
        del data  # a 100,000-row catalog: the bytes, the parsed rows and their dicts must not all stay
        rows = [r if isinstance(r, dict) else r.model_dump() for r in parsed]
        del parsed
    params: dict[str, Any] = {
        k: fields[k] for k in ("temperature", "seed", "cache", "max_cost_usd") if k in fields
    }
    payload = {
        "use_case": use_case_name,
        "model": fields.get("model"),
        "rows": rows,
        "options": options,
        "prompt": {
            k: fields[f] for k, f in (("system", "prompt_system"), ("user", "prompt_user")) if f in fields
        },
        "experiment": fields.get("experiment"),
        "dataset_name": fields.get("dataset_name") or upload.filename,
        "limit": fields.get("limit"),
        "max_tokens": fields.get("max_tokens"),
        **params,
    }
    try:
        req = RunCreate.model_validate(payload)
        del payload  # the request holds its own copy of the rows
    except ValidationError as exc:
        raise invalid(validation_errors(exc, lambda loc: form_loc(loc, option_fields))) from None
    filename = upload.filename or "upload"
    if deferred:
        return Upload(req, filename, option_fields, Deferred(data, fmt, filename, _approx_rows(data)))
    return Upload(req, filename, option_fields)
