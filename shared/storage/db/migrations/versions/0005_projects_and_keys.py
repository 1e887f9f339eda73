"""Projects and API keys: ``projects``, ``api_keys`` (the SHA-256 of each key's secret, never the
key), and a nullable ``project_id`` on ``runs`` and ``experiments`` (NULL: the operator's, created
without the API). Experiment names become unique per project instead of globally.

The downgrade restores the global uniqueness of experiment names; it fails if two projects use the
same name (rename one first).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        _created_at(),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_api_keys_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("hash", name=op.f("uq_api_keys_hash")),
    )
    op.create_index(op.f("ix_api_keys_project_id"), "api_keys", ["project_id"], unique=False)
    for table in ("runs", "experiments"):
        op.add_column(table, sa.Column("project_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_{table}_project_id_projects"), table, "projects", ["project_id"], ["id"]
        )
        op.create_index(op.f(f"ix_{table}_project_id"), table, ["project_id"], unique=False)
    op.drop_constraint(op.f("uq_experiments_name"), "experiments", type_="unique")
    op.create_index(
        "uq_experiments_project_name",
        "experiments",
        [sa.text("coalesce(project_id, 0)"), "name"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_experiments_project_name", table_name="experiments")
    op.create_unique_constraint(op.f("uq_experiments_name"), "experiments", ["name"])
    for table in ("experiments", "runs"):
        op.drop_index(op.f(f"ix_{table}_project_id"), table_name=table)
        op.drop_constraint(op.f(f"fk_{table}_project_id_projects"), table, type_="foreignkey")
        op.drop_column(table, "project_id")
    op.drop_index(op.f("ix_api_keys_project_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("projects")
