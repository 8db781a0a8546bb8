"""Forgetting a person: the one path behind /delete and the retention deletion.

Foreign keys do much of it (roles, profile, memberships, offers, tickets, attendance,
subscriptions: CASCADE; needs, events, organisations, votes, audit entries: SET NULL, which
anonymises them). What refers to the person in other ways is found and removed here:

- rows keyed by the platform user id (flow states, keyboards, the private chat, button tokens),
  and options in other chats' numbered keyboards that stand for the person;
- words and names inside other rows: outbox messages that carry the person's name, their
  platform id or a text they wrote (a report, a question to the team) are deleted, delivered
  or not, because the person is gone and so must be what they said;
- ids inside text: poll voter keys (`p:<id>`) and audit targets (`person:<id>`) become
  anonymous, so a decision keeps its count and the audit log its action.

Needs the person posted stay without their name, as the privacy notice says. Person ids are
never reused (see migration 0009), so nothing left behind can ever point at someone new.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, delete, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.notify import Notifier
from db.models import (
    AuditEntry,
    ButtonToken,
    ChatRecord,
    FloodBucket,
    FlowState,
    Keyboard,
    OutboxMessage,
    Person,
    PollVote,
    Report,
    SurveyParticipation,
    SurveyResponse,
    Ticket,
    TicketMessage,
    VolunteerProfile,
)

#: Shorter words are too common to look for: a name like "Al" would match everyone's text.
MIN_TRACE = 3
#: Button actions whose value is a person id (a coordinator's "Unblock" under a list).
PERSON_VALUED_ACTIONS = ("admin.unblock",)
#: How many outbox rows are read at a time while looking for traces.
OUTBOX_BATCH = 1000


async def forget(notifier: Notifier, person: Person) -> None:
    """Erase one person everywhere. Their open offers end first (anonymously: the notice to
    the poster does not name them); the caller commits and wakes the outbox."""
    from handlers.volunteering.offers import withdraw_all

    session = notifier.session
    await withdraw_all(notifier, person.id, named=False)
    traces = await words_of(session, person)
    await _delete_keyed_rows(session, person)
    await _delete_outbox_traces(session, person, traces)
    await _clean_keyboards(session, person, traces)
    await _anonymise_references(session, person)
    session.expunge(person)
    await session.execute(delete(Person).where(Person.id == person.id))


async def words_of(session: AsyncSession, person: Person) -> set[str]:
    """The person's name, platform id and what they wrote that others were sent."""
    words: set[str] = {person.platform_user_id}
    if person.display_name:
        words.add(person.display_name)
    profile = await session.get(VolunteerProfile, person.id)
    if profile is not None:
        words.add(profile.first_name)
    words.update(
        await session.scalars(
            select(TicketMessage.text)
            .join(Ticket, Ticket.id == TicketMessage.ticket_id)
            .where(Ticket.person_id == person.id, TicketMessage.from_coordinator.is_(False))
        )
    )
    words.update(
        await session.scalars(select(Report.text).where(Report.reporter_person_id == person.id))
    )
    for answers in await session.scalars(
        select(SurveyResponse.answers).where(SurveyResponse.person_id == person.id)
    ):
        words.update(_strings(answers))
    for draft in await session.scalars(
        select(SurveyParticipation.draft).where(SurveyParticipation.person_id == person.id)
    ):
        words.update(_strings(draft))
    return {w.strip() for w in words if w and len(w.strip()) >= MIN_TRACE}


def _strings(value: Any) -> Iterable[str]:
    """The free texts inside a JSON value (survey answers are lists of numbers and texts)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


async def _delete_keyed_rows(session: AsyncSession, person: Person) -> None:
    """What is keyed by the platform user id, or owned by the person without a cascade."""
    platform, user_id = person.platform, person.platform_user_id
    await session.execute(
        delete(FlowState).where(FlowState.platform == platform, FlowState.user_id == user_id)
    )
    await session.execute(
        delete(Keyboard).where(Keyboard.platform == platform, Keyboard.chat_id == user_id)
    )
    await session.execute(  # the flood counter knows the platform id too
        delete(FloodBucket).where(FloodBucket.platform == platform, FloodBucket.user_id == user_id)
    )
    await session.execute(
        delete(ButtonToken).where(
            or_(
                ButtonToken.person_id == person.id,
                (ButtonToken.platform == platform) & (ButtonToken.chat_id == user_id),
                ButtonToken.action.in_(PERSON_VALUED_ACTIONS)
                & (ButtonToken.value == str(person.id)),
            )
        )
    )
    await session.execute(
        delete(ChatRecord).where(
            ChatRecord.platform == platform, ChatRecord.platform_chat_id == user_id
        )
    )
    await session.execute(
        update(ChatRecord)
        .where(ChatRecord.platform == platform, ChatRecord.created_by == user_id)
        .values(created_by=None)
    )
    await session.execute(delete(SurveyResponse).where(SurveyResponse.person_id == person.id))
    await session.execute(
        delete(SurveyParticipation).where(SurveyParticipation.person_id == person.id)
    )
    await session.execute(
        delete(Report).where(
            or_(Report.reporter_person_id == person.id, Report.reported_person_id == person.id)
        )
    )


async def _delete_outbox_traces(session: AsyncSession, person: Person, traces: set[str]) -> None:
    """Messages to the person, and messages to others that carry their name or words."""
    await session.execute(
        delete(OutboxMessage).where(
            or_(
                OutboxMessage.person_id == person.id,
                (OutboxMessage.platform == person.platform)
                & (OutboxMessage.chat_id == person.platform_user_id),
            )
        )
    )
    if not traces:
        return
    # JSON is stored escaped (PostgreSQL and SQLite differ), so the search runs here
    last = 0
    while True:
        rows = (
            await session.execute(
                select(OutboxMessage.id, OutboxMessage.payload)
                .where(OutboxMessage.id > last)
                .order_by(OutboxMessage.id)
                .limit(OUTBOX_BATCH)
            )
        ).all()
        if not rows:
            return
        last = rows[-1].id
        found = [row.id for row in rows if _mentions(row.payload, traces)]
        if found:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(found)))


async def _clean_keyboards(session: AsyncSession, person: Person, traces: set[str]) -> None:
    """Numbered keyboards in other chats (Matrix) keep each option's label, action and value:
    options meant for the person, naming them, or standing for their id are emptied (not
    removed, so that the other options keep the numbers their chat shows). Handled options
    (`1a`) keep their label and message's first line: those naming the person are blanked."""
    mine = str(person.id)
    for keyboard in await session.scalars(select(Keyboard)):
        entries = [list(entry) for entry in keyboard.buttons or ()]
        changed = False
        for entry in entries:
            label, token, action, value, owner = entry[:5]
            if (
                owner == person.id
                or (action in PERSON_VALUED_ACTIONS and value == mine)
                or any(trace in label for trace in traces)
            ):
                entry[:6] = ["", token, "", "", None, 1]  # (its handle stays: 2 is still 2)
                changed = True
        if changed:
            keyboard.buttons = entries
    # options typed back by handle keep their label and their message's first line
    for token in await session.scalars(
        select(ButtonToken).where(or_(ButtonToken.label != "", ButtonToken.context != ""))
    ):
        if any(trace in token.label or trace in token.context for trace in traces):
            token.label, token.context = "", ""


def _mentions(payload: dict[str, Any], traces: set[str]) -> bool:
    texts = [payload.get("text") or ""]
    texts += [button[0] for row in payload.get("buttons") or () for button in row]
    return any(trace in text for text in texts for trace in traces)


async def _anonymise_references(session: AsyncSession, person: Person) -> None:
    """Ids written into text: the vote still counts, the audit keeps the action."""
    await session.execute(
        update(PollVote)
        .where(PollVote.voter_key == f"p:{person.id}")
        .values(voter_key=literal("x:") + cast(PollVote.id, String))
    )
    await session.execute(
        update(AuditEntry)
        .where(AuditEntry.target == f"person:{person.id}")
        .values(target="person:deleted")
    )
