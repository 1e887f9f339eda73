"""Errors of reading a table: every problem, named by row and field, raised together."""

from __future__ import annotations

from dataclasses import dataclass

MAX_LISTED = 20


@dataclass(frozen=True)
class RowIssue:
    row: int  # 0 = the file as a whole (encoding, header, format)
    field: str
    message: str

    def __str__(self) -> str:
        where = "file" if self.row == 0 else f"row {self.row}"
        return f"{where}, field {self.field!r}: {self.message}" if self.field else f"{where}: {self.message}"


class CatalogError(ValueError):
    def __init__(self, errors: list[RowIssue]) -> None:
        self.errors = errors
        lines = [str(issue) for issue in errors[:MAX_LISTED]]
        if len(errors) > MAX_LISTED:
            lines.append(f"... and {len(errors) - MAX_LISTED} more")
        super().__init__(f"invalid catalog ({len(errors)} problem(s)):\n" + "\n".join(lines))


def fail(message: str, field: str = "") -> CatalogError:
    return CatalogError([RowIssue(0, field, message)])
