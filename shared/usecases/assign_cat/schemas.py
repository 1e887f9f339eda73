"""Assign-cat's rows and options."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_FIELD_CHARS = 20_000


class ProductRow(BaseModel):
    """One datapoint of assign-cat. ``category`` is the expected label (a `` > ``-joined path)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str | None = Field(None, max_length=200)
    title: str = Field(min_length=1, max_length=MAX_FIELD_CHARS)
    description: str = Field("", max_length=MAX_FIELD_CHARS)
    brand: str = Field("", max_length=1000)
    category: str | None = Field(None, max_length=2000)

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v


class TaxonomySpec(BaseModel):
    """Where the taxonomy comes from: the rows' own labels, Google's text format, or a path list."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["labels", "google", "paths", "text"] = "labels"
    text: str | None = Field(None, description="Taxonomy file text (source=google or text)")
    paths: list[str] | None = Field(None, description="Category paths (source=paths)")
    name: str | None = None


class AssignCatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    taxonomy: TaxonomySpec = Field(
        default_factory=TaxonomySpec,
        description="A TaxonomySpec, or a taxonomy file's text (Google format or one path per line)",
    )
    max_candidates: int = Field(300, ge=1, le=10_000, description="Categories shown in the prompt")

    @field_validator("taxonomy", mode="before")
    @classmethod
    def _text_is_a_file(cls, v: Any) -> Any:
        """A plain string is a taxonomy file's text; its format is sniffed by Taxonomy.from_text."""
        return {"source": "text", "text": v} if isinstance(v, str) else v
