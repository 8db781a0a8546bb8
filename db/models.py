"""The data model. Times are UTC; people are keyed by (platform, platform user id)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    case,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


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


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: For a person the bot cannot reach yet (no private chat or direct room): kept until
    #: they can be reached, or until it expires (see bot/core/reach.py).
    HELD = "held"


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


class KeyValue(Base):
    """Small bits of process state that must survive a restart (sync tokens, versions)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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


import db.directory  # noqa: E402, F401  (the referral directory shares this metadata)


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
