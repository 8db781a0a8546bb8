"""The network's partner organisations and who acts for them.

Kept apart from the people because an organisation outlives its members: needs, events and
group chats point at it and are released (SET NULL), not deleted, when it goes.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import utcnow


class OrganisationKind(enum.StrEnum):
    WELCOME_INITIATIVE = "welcome_initiative"
    SELF_ORGANISATION = "self_organisation"
    COUNSELLING_CENTRE = "counselling_centre"
    JOB_CENTRE = "job_centre"
    HOUSING_OFFICE = "housing_office"
    SHELTER = "shelter"
    COMPANY = "company"
    UNIVERSITY = "university"
    HOUSING_COOPERATIVE = "housing_cooperative"


class OrganisationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Organisation(Base):
    """A partner of the network: an initiative, a counselling centre, an authority, a company."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    #: the language the description is written in, so readers of others see it marked
    text_language: Mapped[str | None] = mapped_column(String(8))
    contact: Mapped[str | None] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=OrganisationStatus.PENDING)
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationMember(Base):
    """Who acts for an organisation; admins may link group chats and see the invite code."""

    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("organisation_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member | admin
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
