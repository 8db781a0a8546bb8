"""Volunteers, the needs organisations post, and the offers that match one to the other.

The matching (db/matching.py) reads these tables together, so they live together; the
listing order of /needs is defined here next to the index it has to match.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.types import utcnow


class VolunteerStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class VolunteerProfile(Base):
    """What a volunteer can do, where and when; the matching reads it, the person edits it."""

    __tablename__ = "volunteer_profiles"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    first_name: Mapped[str] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(100), index=True)
    postcode: Mapped[str | None] = mapped_column(String(10))
    availability_bits: Mapped[int] = mapped_column(Integer, default=0)  # weekday*3 + part
    availability_kind: Mapped[str] = mapped_column(String(16), default="regular")
    max_offers_per_week: Mapped[int] = mapped_column(Integer, default=2)
    quiet_start: Mapped[int | None] = mapped_column(Integer)  # local hour, network time zone
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=VolunteerStatus.ACTIVE)
    offers_week: Mapped[str | None] = mapped_column(String(10))  # ISO week of the counter
    offers_this_week: Mapped[int] = mapped_column(Integer, default=0)
    last_offer_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    activities: Mapped[list[VolunteerActivity]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    languages: Mapped[list[VolunteerLanguage]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class VolunteerActivity(Base):
    __tablename__ = "volunteer_activities"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_profiles.person_id", ondelete="CASCADE"), primary_key=True
    )
    activity: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class VolunteerLanguage(Base):
    __tablename__ = "volunteer_languages"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_profiles.person_id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(8))  # basic | good | native


class NeedStatus(enum.StrEnum):
    PENDING_REVIEW = "pending_review"
    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"
    EXPIRED = "expired"
    DECLINED = "declined"


class Need(Base):
    """Where volunteers are needed. A deleted poster leaves the need behind anonymised."""

    __tablename__ = "needs"
    __table_args__ = (Index("ix_needs_status_activity", "status", "activity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    poster_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    slug: Mapped[str | None] = mapped_column(String(64), unique=True)  # demo data only
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    #: the language title and description are written in (readers of others see it marked)
    text_language: Mapped[str | None] = mapped_column(String(8))
    activity: Mapped[str] = mapped_column(String(32))
    #: ",ar,de," so that one language can be found with LIKE on SQLite and PostgreSQL alike
    language_codes: Mapped[str] = mapped_column(String(200), default=",")
    district: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(10))
    place: Mapped[str] = mapped_column(String(200), default="")
    when_kind: Mapped[str] = mapped_column(String(16))  # date | regular | flexible
    starts_at: Mapped[datetime | None]
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday, for regular needs
    time_of_day: Mapped[str | None] = mapped_column(String(5))  # HH:MM, network time zone
    volunteers_needed: Mapped[int] = mapped_column(Integer, default=1)
    helpers_count: Mapped[int] = mapped_column(Integer, default=0)
    until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=NeedStatus.OPEN, index=True)
    match_round: Mapped[int] = mapped_column(Integer, default=0)
    last_match_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    @property
    def languages(self) -> list[str]:
        return [code for code in self.language_codes.split(",") if code]

    @languages.setter
    def languages(self, codes: list[str]) -> None:
        self.language_codes = "," + "".join(f"{code}," for code in codes)

    @property
    def missing(self) -> int:
        return max(0, self.volunteers_needed - self.helpers_count)


#: The order of /needs: needs on a date first, soonest first; then the rest, newest first.
#: Written with literals, not bound parameters, so that the database can match the listing
#: query against the index below and read one page instead of sorting every open need.
NEED_LISTING_ORDER = (
    case(
        (Need.when_kind == literal_column("'date'"), literal_column("0")),
        else_=literal_column("1"),
    ),
    Need.starts_at,
    Need.published_at.desc(),
    Need.id.desc(),
)
Index("ix_needs_listing", Need.status, *NEED_LISTING_ORDER)
#: Counting the open needs reads only this index.
Index("ix_needs_status_until", Need.status, Need.until)


class OfferStatus(enum.StrEnum):
    OFFERED = "offered"  # the bot asked the volunteer
    INTERESTED = "interested"  # the volunteer said "I can help"; the poster decides
    ACCEPTED = "accepted"  # both agreed: contacts were exchanged
    DECLINED = "declined"  # the volunteer said "not this time"
    REJECTED = "rejected"  # the poster said no
    WITHDRAWN = "withdrawn"  # the volunteer stepped back
    CLOSED = "closed"  # the need filled up, closed or expired first


class Offer(Base):
    """One volunteer and one need: the offer, the answer, and the double consent."""

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("need_id", "volunteer_person_id"),
        Index("ix_offers_volunteer_status", "volunteer_person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    volunteer_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.OFFERED)
    round: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
