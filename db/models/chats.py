"""Where and how the bot talks: chats, private channels, open flows, buttons, flood limits.

This is the state of the conversation machinery rather than of the agency's work; it must
survive a restart (flows, buttons, sync tokens) and is shared by every process.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import utcnow


class ChatRecord(Base):
    """A private or group chat the bot has seen; groups can carry their own language."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "platform_chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_chat_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    created_by: Mapped[str | None] = mapped_column(String(255))  # platform user id
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectChatState(enum.StrEnum):
    READY = "ready"  # messages can go to chat_id
    INVITED = "invited"  # Matrix: a direct room was made; waiting for the person to join
    #: No private chat yet. Telegram: the person has to open it (they are told in a group);
    #: Matrix: the transport finds or makes a direct room.
    WANTED = "wanted"


class DirectChat(Base):
    """Where the bot can write to a person privately, per person and platform.

    A person is not a chat: on Telegram a bot may only write to someone who opened a
    private chat with it, on Matrix it needs a direct room. `group_chat_id` is the last group
    the person was seen in, where the bot can tell them to open the chat (`told_at`: once).
    """

    __tablename__ = "direct_chats"
    __table_args__ = (UniqueConstraint("person_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16))
    group_chat_id: Mapped[str | None] = mapped_column(String(255))
    told_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowState(Base):
    """Where a conversation stands, so a restart in the middle of a flow loses nothing."""

    __tablename__ = "flow_states"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ButtonToken(Base):
    """What a button stands for, kept on our side: a transport only ever carries the token.

    `person_id` set means only that person may press it (a button in a group meant for one
    member); `state` set means it answers that flow step and goes stale once the flow moves on.
    """

    __tablename__ = "button_tokens"
    __table_args__ = (Index("ix_button_tokens_chat", "platform", "chat_id", "created_at"),)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    used_at: Mapped[datetime | None]  # single-use buttons are spent on the first press
    #: Typed answers on platforms without buttons: `1a` (group 1, option a). The form's own
    #: numbered options live in `Keyboard`; see bot/core/buttons.py.
    handle: Mapped[str | None] = mapped_column(String(8))
    handle_group: Mapped[int | None]
    label: Mapped[str] = mapped_column(String(128), default="", server_default="")
    #: The first line of the message the option was in, to say what it belongs to.
    context: Mapped[str] = mapped_column(String(80), default="", server_default="")
    #: The group was handled (a single-use option pressed): its handles answer no more.
    closed_at: Mapped[datetime | None]


class Keyboard(Base):
    """The latest buttons shown in a chat, for transports that answer by number or label."""

    __tablename__ = "keyboards"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(255))
    #: [[label, token, action, value, person id, used], …]: see bot/core/buttons.py
    buttons: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KeyValue(Base):
    """Small bits of process state that must survive a restart (sync tokens, versions)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FloodBucket(Base):
    """One sender's flood-limiter token bucket, in the database so that every process on
    PostgreSQL counts the same messages (see bot.core.ratelimit.SharedRateLimiter)."""

    __tablename__ = "flood_buckets"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    tokens: Mapped[float]
    #: Seconds since the epoch (all processes share the wall clock, not a monotonic one).
    updated: Mapped[float] = mapped_column(index=True)
    #: The last verdict: 0 ok, 1 warned, 2 dropped (so one upsert can tell warn from drop).
    verdict: Mapped[int] = mapped_column(default=0)
