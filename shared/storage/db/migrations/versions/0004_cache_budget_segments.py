"""Segmentation fields on every prediction (the response cache and the prompt variant), and the
metrics' counts of cache hits and of rows skipped for a run's budget.

predictions: ``cache_hit`` (not null, false), ``cached_cost_usd``, ``input_chars``,
``prompt_hash``, ``system_fingerprint``. metrics: ``n_skipped``, ``n_cache_hits`` and
``cached_cost_usd`` (not null, 0). Rows from before are no cache hits and skipped nothing; their
other new fields stay NULL (unknown). Constant defaults: no table rewrite on PostgreSQL 11+.

The downgrade leaves nothing the older code cannot read: a ``skipped_budget`` row becomes a
``failed`` row (error type ``internal``, its message kept) and a ``budget_exceeded`` run becomes
``partial`` (or ``failed`` without a valid row).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "predictions", sa.Column("cache_hit", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "predictions", sa.Column("cached_cost_usd", sa.Numeric(precision=14, scale=8), nullable=True)
    )
    op.add_column("predictions", sa.Column("input_chars", sa.Integer(), nullable=True))
    op.add_column("predictions", sa.Column("prompt_hash", sa.String(length=64), nullable=True))
    op.add_column("predictions", sa.Column("system_fingerprint", sa.String(length=200), nullable=True))
    op.add_column("metrics", sa.Column("n_skipped", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("metrics", sa.Column("n_cache_hits", sa.Integer(), nullable=False, server_default="0"))
    op.add_column(
        "metrics",
        sa.Column("cached_cost_usd", sa.Numeric(precision=14, scale=6), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE runs r SET status = CASE WHEN EXISTS (
            SELECT 1 FROM predictions p WHERE p.run_id = r.id AND p.status = 'succeeded')
            THEN 'partial' ELSE 'failed' END
        WHERE r.status = 'budget_exceeded'
        """
    )
    op.execute(
        "UPDATE predictions SET status = 'failed', error_type = 'internal' WHERE status = 'skipped_budget'"
    )
    for column in ("cached_cost_usd", "n_cache_hits", "n_skipped"):
        op.drop_column("metrics", column)
    for column in ("system_fingerprint", "prompt_hash", "input_chars", "cached_cost_usd", "cache_hit"):
        op.drop_column("predictions", column)
