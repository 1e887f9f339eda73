"""Error handlers: every input error answers 422 in FastAPI's own ``{"detail": [...]}`` shape.

- :class:`labrun.shared.core.errors.InputError` -> one entry, ``loc`` prefixed with ``"body"`` (row indexes of
  JSON bodies from 0, like pydantic's; see :func:`zero_based_rows`);
- :class:`CatalogError` (an uploaded catalog) -> one entry per row issue,
  ``loc = ["body", "file", "row N", field]`` (no ``"row N"`` for file-wide issues);
- :class:`pydantic.ValidationError` of a request body -> see :func:`validation_errors`;
- :class:`labrun.shared.core.errors.NotFound` -> 404 ``{"detail": "run X not found"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError

from labrun.shared.core.errors import InputError, NotFound
from labrun.shared.usecases.tables import CatalogError

Loc = tuple[str | int, ...]


def error(loc: Loc, msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": type_}


def zero_based_rows(loc: Loc) -> Loc:
    """``InputError`` counts rows from 1 (``("rows", 4, "id")``); JSON locations index from 0, like
    pydantic's (``rows.3.id`` is ``body["rows"][3]``)."""
    if len(loc) > 1 and loc[0] == "rows" and isinstance(loc[1], int):
        return ("rows", loc[1] - 1, *loc[2:])
    return loc


def validation_errors(exc: ValidationError, rename: Callable[[Loc], Loc] = lambda loc: loc) -> list[dict]:
    """Pydantic errors as FastAPI detail entries (without the echoed input, which may be huge)."""
    return [error(rename(tuple(e["loc"])), e["msg"], e["type"]) for e in exc.errors(include_url=False)]


def invalid(entries: list[dict[str, Any]]) -> RequestValidationError:
    """A 422 answered by FastAPI's own handler with exactly these ``detail`` entries."""
    return RequestValidationError(entries)


def catalog_errors(exc: CatalogError) -> list[dict[str, Any]]:
    entries = []
    for issue in getattr(exc, "errors", None) or []:
        loc: list[str | int] = ["file"]
        if getattr(issue, "row", 0):  # row 0: the file as a whole
            loc.append(f"row {issue.row}")
        if getattr(issue, "field", None):
            loc.append(issue.field)
        entries.append(error(tuple(loc), str(issue.message)))
    return entries or [error(("file",), str(exc))]


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": [error(exc.loc, exc.message)]}, status_code=422)

    @app.exception_handler(CatalogError)
    async def _catalog_error(request: Request, exc: CatalogError) -> JSONResponse:
        return JSONResponse({"detail": catalog_errors(exc)}, status_code=422)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # the database refused a value of the request (a NUL byte, a number out of range): the
        # transaction rolled back, nothing was created; the client's input, not a server fault
        why = str(getattr(exc, "orig", exc)).splitlines()[0][:300]
        return JSONResponse({"detail": f"a value of the request cannot be stored or looked up: {why}"}, 422)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        what = exc.args[0] if exc.args else "?"
        detail = f"{what} not found" if " " in str(what) else f"run {what} not found"  # "experiment x"
        return JSONResponse({"detail": detail}, status_code=404)
