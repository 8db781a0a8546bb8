"""Messages waiting to be delivered, and the broadcasts that send many at once.

The outbox is written in the same transaction as the change that causes a message, so a
crash can delay a message but never lose it or send it for a change that was rolled back.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: For a person the bot cannot reach yet (no private chat or direct room): kept until
    #: they can be reached, or until it expires (see bot/core/reach.py).
    HELD = "held"


class OutboxMessage(Base):
    """A message to deliver later, stored in the same transaction as the change that caused it.

    A sender claims it (status `sending` with a lease), delivers, and only then marks it `sent`;
    a crash in between lets the lease run out and the message is claimed again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "platform", "status", "not_before"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Parts already accepted by the platform (a file, then the text's pieces): never resent.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Broadcast(Base):
    """A message to many; its outbox rows point here so progress can be counted."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32), default="broadcast")
    audience: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
