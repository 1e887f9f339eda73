"""Turn CLI arguments into a RunCreate request, with errors that name the option or row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labrun.shared.core.errors import InputError
from labrun.shared.core.schemas import PromptSpec, RunCreate
from labrun.shared.usecases import registry


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``-o key=value`` pairs; ``key=@FILE`` reads the file's text (e.g. a taxonomy or label list).
    File options are passed like the upload form's file fields: ``_filenames`` names their files."""
    options: dict[str, Any] = {}
    filenames: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(("--option",), f"expected KEY=VALUE or KEY=@FILE, got {pair!r}")
        if value.startswith("@"):
            path = Path(value[1:])
            if not path.is_file():
                raise InputError(("--option", key), f"no such file: {path}")
            value = path.read_text(encoding="utf-8-sig")
            filenames[key.strip()] = path.name
        options[key.strip()] = value
    return {**options, "_filenames": filenames} if filenames else options


def read_rows(use_case: str | None, file: Path) -> list[dict[str, Any]]:
    from labrun.shared.usecases.tables import CatalogError

    if not file.is_file():
        raise InputError(("FILE",), f"no such file: {file}")
    try:
        rows = registry.get(use_case).read_file(file, None, file.name)
    except CatalogError as exc:
        raise InputError((str(file),), str(exc)) from None
    return [r if isinstance(r, dict) else r.model_dump() for r in rows]


def build_request(
    file: Path | None,
    model: str | None,
    limit: int | None,
    experiment: str | None,
    *,
    use_case: str | None = None,
    options: list[str] | None = None,
    single: str | None = None,
    prompt_system: str | None = None,
    prompt_user: str | None = None,
    **params: Any,
) -> RunCreate:
    """A request for ``use_case`` from a data FILE (or one ``--single`` text for a quick check)."""
    if (file is None) == (single is None):
        raise InputError(("FILE",), "give a data FILE or --single TEXT (one of the two)")
    opts = registry.get(use_case).form_options(parse_options(options or []))
    rows = [{"id": "1", "title": single, "text": single}] if single is not None else read_rows(use_case, file)  # type: ignore[arg-type]
    return RunCreate(
        use_case=use_case or registry.DEFAULT,
        model=model,
        rows=rows,
        options=opts,
        prompt=PromptSpec(system=prompt_system, user=prompt_user),
        experiment=experiment,
        dataset_name=file.name if file else "single",
        limit=limit,
        **{k: v for k, v in params.items() if v is not None},  # temperature, seed, cache, max_cost_usd
    )
