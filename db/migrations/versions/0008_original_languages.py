"""the language needs and organisations are written in

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:20:00

Readers of another language see people's texts marked "(original in …)"; events, polls and
surveys keep one text per language already, needs and organisation descriptions did not say
which language they are in. Rows written before stay unmarked (NULL: not known).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("needs", sa.Column("text_language", sa.String(length=8), nullable=True))
    op.add_column("organisations", sa.Column("text_language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("organisations", "text_language")
    op.drop_column("needs", "text_language")
