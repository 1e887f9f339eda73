"""Where an error of a submitted request is in an upload form: ``("rows", 3, "id")`` is the file's
row 3, field ``id``; the prompts and the use case's options are their own form fields. The API
names them in its 422s, and a run prepared in the background (deferred.py) in its error."""

from __future__ import annotations

from labrun.shared.usecases import registry

Loc = tuple[str | int, ...]
_RENAMES: dict[Loc, Loc] = {("prompt", "system"): ("prompt_system",), ("prompt", "user"): ("prompt_user",)}


def form_loc(loc: Loc, option_fields: frozenset[str] = frozenset(), use_case: str | None = None) -> Loc:
    """Where a ``RunCreate`` location is in the upload (``("rows", 3, "id")`` -> file, row 3, id)."""
    if loc[:1] == ("rows",):
        return ("file", f"row {loc[1]}", *loc[2:]) if len(loc) > 1 else ("file",)
    for prefix, target in _RENAMES.items():
        if loc[: len(prefix)] == prefix:
            return target + loc[len(prefix) :]
    if loc[:1] == ("options",) and len(loc) > 1 and str(loc[1]) in option_fields:
        return loc[1:]
    if use_case is not None and (mapped := registry.get(use_case).form_loc(loc, option_fields)) is not None:
        return mapped
    return loc
