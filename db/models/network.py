"""How the network governs itself: the charter, polls, surveys, reports, tickets, audit.

These are the coordinators' tools; they point at people and are read on the network desk.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import utcnow


class AuditEntry(Base):
    """What coordinators did, for accountability. The actor is kept as long as they exist."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Report(Base):
    """A message someone reported to the coordinators."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    reported_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text, default="")
    #: open | blocked | dismissed | answered (answered: nobody to block, the answer settles it)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The coordinators' answer to the reporter. Who wrote it is in the audit log only: the
    #: reporter hears from "the coordinators", never from one of them by name.
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class CharterText(Base):
    """A section of the network's charter (/about) in one language, as coordinators wrote it."""

    __tablename__ = "charter_texts"
    __table_args__ = (UniqueConstraint("section", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    section: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Poll(Base):
    """A decision among members: one vote per person or per organisation, with a quorum."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[dict[str, Any]] = mapped_column()  # language → text
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{language: label}, …]
    per_organisation: Mapped[bool] = mapped_column(default=False)
    deadline: Mapped[datetime]
    quorum: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class PollVote(Base):
    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "voter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    #: "p:<person id>" or "o:<organisation id>": one vote per person or per organisation
    voter_key: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    option: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Survey(Base):
    """A needs assessment: questions of four kinds, answered step by step."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[dict[str, Any]] = mapped_column()  # language → text
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    audience: Mapped[str] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyParticipation(Base):
    """Who was asked and how far they got; answers in progress live here until complete."""

    __tablename__ = "survey_participations"
    __table_args__ = (UniqueConstraint("survey_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    draft: Mapped[list[Any]] = mapped_column(JSON, default=list)
    completed_at: Mapped[datetime | None]


class SurveyResponse(Base):
    """A completed set of answers; for anonymous surveys it is not linked to anyone."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(8))
    answers: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    LEFT = "left"  # the person closed while waiting: open on the desk until answered
    CLOSED = "closed"


class Ticket(Base):
    """A question handed over to a person: the coordinator answers through the bot and never
    sees the asker's messenger handle."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.OPEN, index=True)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    awaiting_coordinator: Mapped[bool] = mapped_column(default=True)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class TicketMessage(Base):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    from_coordinator: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
