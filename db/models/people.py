"""People and their roles: who wrote to the bot, what they agreed to, what they may do.

Nearly every other table points at `people.id`: a person's deletion cascades or anonymises
from here (see handlers/people for /forget and /mydata).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Identity, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.types import utcnow


class Intent(enum.StrEnum):
    """What brought someone here; decides their main menu."""

    VOLUNTEER = "volunteer"
    ORGANISATION = "organisation"
    SEEKING_HELP = "seeking_help"


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"
    ORG_MEMBER = "org_member"
    ORG_ADMIN = "org_admin"


class Person(Base):
    """Someone who wrote to the bot. Ids are never reused (AUTOINCREMENT on SQLite, an
    identity on PostgreSQL): a deleted person's id must not lead to someone new."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("platform", "platform_user_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    intent: Mapped[str | None] = mapped_column(String(32))
    consent_version: Mapped[int | None] = mapped_column(Integer)
    consent_at: Mapped[datetime | None]
    consent_declined_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    retention_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    roles: Mapped[list[PersonRole]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )

    def has_role(self, role: Role) -> bool:
        return any(r.role == role for r in self.roles)

    def has_consented(self, version: int) -> bool:
        return self.consent_version is not None and self.consent_version >= version


class PersonRole(Base):
    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="roles")
