"""The data model, one module per domain of the agency's work, all on one `Base.metadata`.
Times are UTC; people are keyed by (platform, platform user id); `from db.models import X`."""

from __future__ import annotations

from db.models.base import NAMING, Base
from db.models.chats import (
    ButtonToken,
    ChatRecord,
    DirectChat,
    DirectChatState,
    FloodBucket,
    FlowState,
    Keyboard,
    KeyValue,
)
from db.models.directory import ReferralQuestion
from db.models.events import AlertSent, Attendance, Event, EventStatus, Subscription
from db.models.network import (
    AuditEntry,
    CharterText,
    Poll,
    PollVote,
    Report,
    Survey,
    SurveyParticipation,
    SurveyResponse,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from db.models.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationMember,
    OrganisationStatus,
)
from db.models.outbox import Broadcast, OutboxMessage, OutboxStatus
from db.models.people import Intent, Person, PersonRole, Role
from db.models.volunteering import (
    NEED_LISTING_ORDER,
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
    VolunteerActivity,
    VolunteerLanguage,
    VolunteerProfile,
    VolunteerStatus,
)

__all__ = [
    "NAMING",
    "NEED_LISTING_ORDER",
    "AlertSent",
    "Attendance",
    "AuditEntry",
    "Base",
    "Broadcast",
    "ButtonToken",
    "CharterText",
    "ChatRecord",
    "DirectChat",
    "DirectChatState",
    "Event",
    "EventStatus",
    "FloodBucket",
    "FlowState",
    "Intent",
    "KeyValue",
    "Keyboard",
    "Need",
    "NeedStatus",
    "Offer",
    "OfferStatus",
    "Organisation",
    "OrganisationKind",
    "OrganisationMember",
    "OrganisationStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PersonRole",
    "Poll",
    "PollVote",
    "ReferralQuestion",
    "Report",
    "Role",
    "Subscription",
    "Survey",
    "SurveyParticipation",
    "SurveyResponse",
    "Ticket",
    "TicketMessage",
    "TicketStatus",
    "VolunteerActivity",
    "VolunteerLanguage",
    "VolunteerProfile",
    "VolunteerStatus",
]
