"""Classify's options: the label set (inline, or a file's text), and which columns are what."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_LABELS = 1000
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def split_labels(text: str) -> list[str]:
    """One label per line (``#`` comments skipped); a single line may list them with commas."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if len(lines) == 1 and "," in lines[0]:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


class ClassifyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: list[str] | None = Field(
        None, description="The label set: a list, or a file's text (one per line). Unset: the rows' labels"
    )
    label_column: str = Field("label", description="The column with the expected label (optional per row)")
    id_column: str = Field("id", description="The column with each row's id")
    text_columns: list[str] | None = Field(
        None, description="Columns the default prompt shows (unset: all but the id and label columns)"
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _text_is_a_file(cls, v: Any) -> Any:
        return split_labels(v) if isinstance(v, str) else v

    @field_validator("labels")
    @classmethod
    def _clean_labels(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        labels = [" ".join(str(x).split()) for x in v]
        if not labels or not all(labels):
            raise ValueError("the label set is empty or has a blank label")
        folded = [x.casefold() for x in labels]
        if dupes := sorted({x for x in labels if folded.count(x.casefold()) > 1}):
            raise ValueError(f"duplicate label(s): {', '.join(dupes)}")
        if len(labels) > MAX_LABELS:
            raise ValueError(f"{len(labels)} labels; at most {MAX_LABELS}")
        return labels

    @field_validator("text_columns", mode="before")
    @classmethod
    def _comma_list(cls, v: Any) -> Any:
        return [c.strip() for c in v.split(",") if c.strip()] if isinstance(v, str) else v

    @field_validator("label_column", "id_column")
    @classmethod
    def _column_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a column name (lower case letters, digits and _)")
        return v
