"""direct chats: where the bot can write to a person privately

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "direct_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("group_chat_id", sa.String(length=255), nullable=True),
        sa.Column("told_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_direct_chats_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_chats")),
        sa.UniqueConstraint("person_id", "platform", name=op.f("uq_direct_chats_person_id")),
    )
    op.create_index(op.f("ix_direct_chats_chat_id"), "direct_chats", ["chat_id"], unique=False)
    # The private chats people already opened are where they can be reached: on Telegram
    # the chat id is the user id, on Matrix the room the person created with the bot.
    op.execute(
        """
        INSERT INTO direct_chats (person_id, platform, chat_id, state, updated_at)
        SELECT p.id, p.platform, MIN(c.platform_chat_id), 'ready', MIN(c.created_at)
        FROM people p JOIN chats c
          ON c.platform = p.platform AND c.kind = 'private' AND c.created_by = p.platform_user_id
        WHERE p.platform IN ('telegram', 'matrix') AND c.unreachable_at IS NULL
          AND (p.platform <> 'telegram' OR c.platform_chat_id = p.platform_user_id)
        GROUP BY p.id, p.platform
        """
    )


def downgrade() -> None:
    # held messages go back to the queue they came from
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'held'")
    op.drop_index(op.f("ix_direct_chats_chat_id"), table_name="direct_chats")
    op.drop_table("direct_chats")
