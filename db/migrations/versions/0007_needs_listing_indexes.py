"""indexes for listing and counting open needs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # /needs reads one page in index order instead of sorting every open need
    # (the expression matches db.models.NEED_LISTING_ORDER).
    op.create_index(
        "ix_needs_listing",
        "needs",
        [
            "status",
            sa.text("(CASE WHEN (when_kind = 'date') THEN 0 ELSE 1 END)"),
            "starts_at",
            sa.text("published_at DESC"),
            sa.text("id DESC"),
        ],
    )
    op.create_index("ix_needs_status_until", "needs", ["status", "until"])


def downgrade() -> None:
    op.drop_index("ix_needs_status_until", table_name="needs")
    op.drop_index("ix_needs_listing", table_name="needs")
