"""The directory of services for referral advice, modelled on Open Referral HSDS 3.

Ids are the HSDS ids (usually UUID strings), so a package imported again keeps its links and
can be compared with the export. Fields beyond HSDS are Lotse's: organisation kind, service
topic and subtopic, location district, and translations of names and descriptions (HSDS has
no translations). The directory is replaced as a whole by
`handlers.referral.directory.import_package`.

Topic ids are stored here; their translated labels belong to the referral feature
(handlers/referral/topics.py), since the database knows nothing of languages.
`ReferralQuestion` keeps what was asked of the directory with /ask, anonymously, for the
statistics.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import utcnow

#: HSDS 3 service status values.
SERVICE_STATUSES: tuple[str, ...] = ("active", "inactive", "defunct", "temporarily closed")

#: Records and fields that `DirTranslation` can translate.
TRANSLATABLE: dict[str, tuple[str, ...]] = {
    "service": ("name", "description"),
    "organization": ("name", "description"),
    "location": ("name", "description"),
}


class DirOrganization(Base):
    """HSDS organization; `kind` is one of Lotse's partner kinds (`OrganisationKind`)."""

    __tablename__ = "dir_organizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(255))  # HSDS 3 calls it `website`
    kind: Mapped[str | None] = mapped_column(String(32))


class DirService(Base):
    """HSDS service; `assured_date` tells advisers how fresh the information is."""

    __tablename__ = "dir_services"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("dir_organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="active")
    assured_date: Mapped[datetime | None]
    last_modified: Mapped[datetime | None]
    topic: Mapped[str] = mapped_column(String(32), index=True)
    subtopic: Mapped[str | None] = mapped_column(String(64))


class DirLocation(Base):
    """HSDS location with its (physical) address folded in; `district` is Lotse's."""

    __tablename__ = "dir_locations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    district: Mapped[str | None] = mapped_column(String(100), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class DirServiceAtLocation(Base):
    __tablename__ = "dir_service_at_location"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("dir_services.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str] = mapped_column(
        ForeignKey("dir_locations.id", ondelete="CASCADE"), index=True
    )


class DirPhone(Base):
    """A number of a service, an organisation or a location (at least one of them)."""

    __tablename__ = "dir_phones"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_services.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_organizations.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_locations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(255))


class DirSchedule(Base):
    """Opening hours as HSDS (RFC 5545) rules: `byday` "MO,TU", local times "HH:MM"."""

    __tablename__ = "dir_schedules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_services.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_locations.id", ondelete="CASCADE"), index=True
    )
    freq: Mapped[str | None] = mapped_column(String(16))
    byday: Mapped[str | None] = mapped_column(String(64))
    opens_at: Mapped[str | None] = mapped_column(String(8))
    closes_at: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)


class DirLanguage(Base):
    """A language a service is offered in (ISO 639 code; HSDS 3 names the column `code`)."""

    __tablename__ = "dir_languages"
    __table_args__ = (UniqueConstraint("service_id", "language"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("dir_services.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(8), index=True)


class DirTaxonomyTerm(Base):
    __tablename__ = "dir_taxonomy_terms"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("dir_taxonomy_terms.id", ondelete="CASCADE")
    )
    taxonomy: Mapped[str | None] = mapped_column(String(255))


class DirTranslation(Base):
    """Lotse's extension: a name or description in another language than the source data."""

    __tablename__ = "dir_translations"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "field", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)


class ReferralQuestion(Base):
    """A referral question asked with /ask, kept anonymously for the statistics."""

    __tablename__ = "referral_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))
    subtopic: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    district: Mapped[str | None] = mapped_column(String(100))
    results: Mapped[int] = mapped_column(Integer, default=0)
    helpful: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
