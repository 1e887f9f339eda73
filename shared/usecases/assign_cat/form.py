"""Assign-cat's upload form fields: ``taxonomy_file`` (Google format or one path per line),
``taxonomy_source`` (labels | google | paths) and ``max_candidates``, as options."""

from __future__ import annotations

from typing import Any

from labrun.shared.core.errors import InputError

TAXONOMY_SOURCES = ("labels", "google", "paths")


def form_options(fields: dict[str, Any]) -> dict[str, Any]:
    filenames = fields.pop("_filenames", {})
    if isinstance(fields.get("taxonomy"), str):  # a taxonomy file's text (-o taxonomy=@FILE)
        name = filenames.get("taxonomy")
        fields["taxonomy"] = {"source": "text", "text": fields["taxonomy"], "name": name}
    text = fields.pop("taxonomy_file", None)
    source = fields.pop("taxonomy_source", None)
    if source is not None and source not in TAXONOMY_SOURCES:
        raise InputError(
            ("taxonomy_source",), f"must be one of {', '.join(TAXONOMY_SOURCES)}, got {source!r}"
        )
    if text is None:
        if source in ("google", "paths"):
            raise InputError(("taxonomy_file",), f"taxonomy_source {source!r} needs a taxonomy_file upload")
    elif source == "labels":
        raise InputError(
            ("taxonomy_source",),
            "taxonomy_source 'labels' uses the rows' own categories: "
            "drop taxonomy_file or set taxonomy_source to 'google' or 'paths'",
        )
    else:
        name = filenames.get("taxonomy_file")
        if source == "paths":
            lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            fields["taxonomy"] = {"source": "paths", "paths": lines, "name": name or "paths"}
        else:  # google, or sniffed by Taxonomy.from_text
            fields["taxonomy"] = {"source": source or "text", "text": text, "name": name}
    return fields


def form_loc(loc: tuple[str | int, ...], fields: frozenset[str]) -> tuple[str | int, ...] | None:
    if loc[:1] == ("taxonomy",) or loc[:2] == ("options", "taxonomy"):
        return ("taxonomy_file",) if "taxonomy_file" in fields else ("taxonomy_source",)
    return None
