"""button tokens: handles for answers typed on platforms without buttons

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A push's options (and any list but the open form's) are typed back by handle (`1a`)
    # on Matrix and in the terminal: the handle, its group, what it reads and what message
    # it was in, and when the group was handled.
    with op.batch_alter_table("button_tokens") as batch:
        batch.add_column(sa.Column("handle", sa.String(8), nullable=True))
        batch.add_column(sa.Column("handle_group", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("label", sa.String(128), nullable=False, server_default=""))
        batch.add_column(sa.Column("context", sa.String(80), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("closed_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_button_tokens_chat", ["platform", "chat_id", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("button_tokens") as batch:
        batch.drop_index("ix_button_tokens_chat")
        for name in ("closed_at", "context", "label", "handle_group", "handle"):
            batch.drop_column(name)
