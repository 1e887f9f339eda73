"""Turn CLI arguments into a RunCreate request, with errors that name the option or row."""

from __future__ import annotations

from pathlib import Path

from shared.errors import InputError
from shared.schemas import ProductRow, PromptSpec, RunCreate, TaxonomySpec


def taxonomy_spec(path: Path) -> TaxonomySpec:
    if not path.is_file():
        raise InputError(("--taxonomy",), f"no such file: {path}")
    text = path.read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines and all(" - " in ln and ln.split(" - ", 1)[0].strip().isdigit() for ln in lines[:20]):
        return TaxonomySpec(source="google", text=text, name=path.name)
    return TaxonomySpec(source="paths", paths=lines, name=path.name)


def read_rows(file: Path) -> list[ProductRow]:
    from shared.assign_cat.catalog_io import CatalogError, read_catalog

    if not file.is_file():
        raise InputError(("FILE",), f"no such file: {file}")
    try:
        return read_catalog(file, filename=file.name)
    except CatalogError as exc:
        raise InputError((str(file),), str(exc)) from None


def build_request(
    file: Path | None,
    model: str | None,
    taxonomy: Path | None,
    limit: int | None,
    single_product: str | None,
    experiment: str | None,
    max_candidates: int,
) -> RunCreate:
    if (file is None) == (single_product is None):
        raise InputError(("FILE",), "give a catalog FILE or --single-product TITLE (one of the two)")
    if single_product is not None:
        if taxonomy is None:
            raise InputError(
                ("--taxonomy",), "--single-product needs --taxonomy (there are no labels to use)"
            )
        rows = [ProductRow(id="1", title=single_product)]
    else:
        assert file is not None
        rows = read_rows(file)
    return RunCreate(
        model=model,
        rows=rows,
        taxonomy=taxonomy_spec(taxonomy) if taxonomy else TaxonomySpec(),
        prompt=PromptSpec(max_candidates=max_candidates),
        experiment=experiment,
        dataset_name=file.name if file else "single-product",
        limit=limit,
    )
