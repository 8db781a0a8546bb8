"""event attendance: a waiting list, moving up, and cancelling

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("waiting_since", "moved_up_at", "cancelled_at")


def upgrade() -> None:
    # A full occurrence keeps a waiting list (ordered by when each person joined it); a freed
    # seat moves the first up; a cancelled attendance stays as a row, so /mydata shows it and
    # reminders leave it out.
    with op.batch_alter_table("event_attendance") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event_attendance") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
