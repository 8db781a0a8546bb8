"""reports: the coordinators' answer to the reporter

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A coordinator may answer the person who reported (anonymously, through the bot); the
    # answer is kept with the report so the desk and the reporter's /mydata can show it.
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("answer", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("answered_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("answered_at")
        batch.drop_column("answer")
