"""flood limiter buckets shared by all processes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flood_buckets",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("updated", sa.Double(), nullable=False),
        sa.Column("verdict", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", name=op.f("pk_flood_buckets")),
    )
    op.create_index(op.f("ix_flood_buckets_updated"), "flood_buckets", ["updated"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flood_buckets_updated"), table_name="flood_buckets")
    op.drop_table("flood_buckets")
