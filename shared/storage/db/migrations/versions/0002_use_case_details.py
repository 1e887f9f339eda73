"""Use-case fields move to JSONB: predictions.details and metrics.extra.

Assign-cat's parsed_path, expected_path and parse_method become keys of ``predictions.details``
and ``metrics.accuracy_by_level`` becomes ``metrics.extra.accuracy_by_level``; existing runs are
copied over, so they stay readable. The downgrade copies them back.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.add_column("predictions", sa.Column("details", JSONB, nullable=False, server_default="{}"))
    op.add_column("metrics", sa.Column("extra", JSONB, nullable=False, server_default="{}"))
    op.execute(
        """
        UPDATE predictions SET details = jsonb_build_object(
            'parsed_path', to_jsonb(parsed_path),
            'expected_path', to_jsonb(expected_path),
            'parse_method', parse_method)
        WHERE parsed_path IS NOT NULL OR expected_path IS NOT NULL OR parse_method IS NOT NULL
        """
    )
    op.execute(
        "UPDATE metrics SET extra = jsonb_build_object('accuracy_by_level', accuracy_by_level) "
        "WHERE accuracy_by_level <> '{}'::jsonb"
    )
    op.drop_column("predictions", "parsed_path")
    op.drop_column("predictions", "expected_path")
    op.drop_column("predictions", "parse_method")
    op.drop_column("metrics", "accuracy_by_level")


def downgrade() -> None:
    op.add_column("predictions", sa.Column("parsed_path", postgresql.ARRAY(sa.Text()), nullable=True))
    op.add_column("predictions", sa.Column("expected_path", postgresql.ARRAY(sa.Text()), nullable=True))
    op.add_column("predictions", sa.Column("parse_method", sa.String(length=20), nullable=True))
    op.add_column("metrics", sa.Column("accuracy_by_level", JSONB, nullable=False, server_default="{}"))
    op.execute(
        """
        UPDATE predictions SET
            parsed_path = CASE WHEN jsonb_typeof(details->'parsed_path') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(details->'parsed_path')) END,
            expected_path = CASE WHEN jsonb_typeof(details->'expected_path') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(details->'expected_path')) END,
            parse_method = details->>'parse_method'
        WHERE details <> '{}'::jsonb
        """
    )
    op.execute(
        "UPDATE metrics SET accuracy_by_level = extra->'accuracy_by_level' WHERE extra ? 'accuracy_by_level'"
    )
    op.drop_column("predictions", "details")
    op.drop_column("metrics", "extra")
