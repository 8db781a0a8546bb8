"""Events, who comes to them, who wants to hear of them, and reminders already sent.

Together because the reminder and digest jobs read all four at once; `AlertSent` is the
unique key that keeps a repeated or coalesced job from sending anything twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import utcnow


class EventStatus(enum.StrEnum):
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Event(Base):
    """A meeting, training or offer; texts per language, times in UTC, repeats weekly or
    monthly in the event's own time zone."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    created_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    slug: Mapped[str | None] = mapped_column(String(64), unique=True)  # demo data only
    title: Mapped[dict[str, Any]] = mapped_column()  # language → text
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(200), default="")
    online_url: Mapped[str] = mapped_column(String(300), default="")
    district: Mapped[str | None] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16), default="everyone")
    language_codes: Mapped[str] = mapped_column(String(100), default=",")
    capacity: Mapped[int | None] = mapped_column(Integer)
    repeat: Mapped[str] = mapped_column(String(16), default="none")  # none | weekly | monthly
    repeat_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PUBLISHED, index=True)
    announced_at: Mapped[datetime | None]
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def languages(self) -> list[str]:
        return [code for code in self.language_codes.split(",") if code]

    @languages.setter
    def languages(self, codes: list[str]) -> None:
        self.language_codes = "," + "".join(f"{code}," for code in codes)


class Attendance(Base):
    """Someone says they will come to one occurrence, or wants to be reminded of it.

    When the occurrence is full, "I'll come" puts the person on its waiting list
    (`waiting_since`, which also orders the list); a freed seat goes to the first waiting, who
    is then `coming` with `moved_up_at` set. Cancelling keeps the row with `cancelled_at`, so
    /mydata shows what happened and a reminder knows whom to leave out.
    """

    __tablename__ = "event_attendance"
    __table_args__ = (UniqueConstraint("event_id", "person_id", "occurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    occurrence: Mapped[datetime]
    coming: Mapped[bool] = mapped_column(default=True)
    remind: Mapped[bool] = mapped_column(default=True)
    waiting_since: Mapped[datetime | None]
    moved_up_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    """Which events a person or a group chat wants to hear of, and in which language."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), unique=True
    )
    chat_id: Mapped[int | None] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), unique=True
    )
    topics: Mapped[str] = mapped_column(String(400), default=",")  # ",a,b," or "," for all
    district: Mapped[str | None] = mapped_column(String(100))
    audience: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    digest: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertSent(Base):
    """Reminders and digests already queued, so a repeated or coalesced job sends nothing
    twice (the unique key is the whole point)."""

    __tablename__ = "alerts_sent"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))  # e.g. "remind24:12:2026-12-01T17:00"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
