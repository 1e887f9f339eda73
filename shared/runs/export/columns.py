"""A table's columns as the database has them now, each with the kind of value it holds.

Read from ``information_schema`` at every call, not from the ORM model: a column added by a
migration appears in the exports and in ``labrun show --by`` as soon as the migration has run, and
a column the model names but the database does not have yet is never selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

Kind = Literal["text", "int", "float", "bool", "timestamp", "json"]

_KINDS: dict[str, Kind] = {
    "character varying": "text",
    "text": "text",
    "character": "text",
    "smallint": "int",
    "integer": "int",
    "bigint": "int",
    "numeric": "float",
    "double precision": "float",
    "real": "float",
    "boolean": "bool",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp",
    "jsonb": "json",
    "json": "json",
}

_COLUMNS = text("""
SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = :table
ORDER BY ordinal_position
""")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind

    def select(self, alias: str, json_text: bool = True) -> str:
        """The SQL reading this column of ``alias`` as the value the exports carry: numbers as
        double precision, any unknown type as text, JSON as its text (or as JSON: ``json_text``)."""
        ref = f"{alias}.{quote(self.name)}"
        if self.kind == "float":
            return f"{ref}::float8"
        if self.kind == "text" or (self.kind == "json" and json_text):
            return f"{ref}::text"
        return ref


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (only ever a name the database itself reported)."""
    return '"' + name.replace('"', '""') + '"'


def table_columns(session: Session, table: str) -> list[Column]:
    """The columns of ``table`` in the current schema, in table order; unknown types read as text."""
    rows = session.execute(_COLUMNS, {"table": table})
    return [Column(name, _KINDS.get(data_type, "text")) for name, data_type in rows]
