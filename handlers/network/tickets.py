"""The hand-over of a question to a person: a ticket between someone and the coordinators' desk.

    referral.handover → ticket.talk (the person writes; each message reaches the team)
    ticket.claim      → ticket.answer (a coordinator writes; each message reaches the person)

Coordinators answer through the bot; they see the question, its context and a ticket number,
never the person's messenger name or handle.

A question is never dropped by leaving: closing the conversation while the last question
is unanswered leaves the ticket open on the desk (status `left`) until a coordinator answers
it (the answer still reaches the person, then the conversation closes) or the person
withdraws it. Leaving the flow any other way (/cancel, another command) changes nothing on
the desk either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import _, isolate, join_parts
from bot.core.ids import get_row
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Button, Reply
from db.models import (
    Person,
    ReferralQuestion,
    Role,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from handlers.basics import forms
from handlers.basics.taxonomy import language_name
from handlers.referral.topics import TOPICS
from handlers.volunteering.offers import coordinators

logger = logging.getLogger(__name__)

router = Router("tickets")

TALK, ANSWER = "ticket.talk", "ticket.answer"
MAX_MESSAGE = 2000


def context_text(ticket: Ticket) -> str:
    c = ticket.context
    label = TOPICS.get(c.get("topic") or "")
    parts = [_(label) if label else "–"]
    if c.get("language"):
        parts.append(language_name(c["language"]))
    if c.get("district"):
        parts.append(isolate(c["district"]))
    return join_parts(parts)


async def open_ticket(ctx: Context) -> Ticket | None:
    return await ctx.session.scalar(
        select(Ticket)
        .where(Ticket.person_id == ctx.person.id, Ticket.status != TicketStatus.CLOSED)
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def rejoin(ticket: Ticket) -> None:
    """The person is back in a conversation they had left: it is an ordinary one again."""
    if ticket.status == TicketStatus.LEFT:
        ticket.status = TicketStatus.CLAIMED if ticket.claimed_by_person_id else TicketStatus.OPEN


@router.button("referral.handover")
async def handover(ctx: Context, value: str) -> None:
    """Open (or reopen) a ticket and let the person write their question."""
    ticket = await open_ticket(ctx)
    if ticket is None:
        question = await get_row(ctx.session, ReferralQuestion, value)
        ticket = Ticket(
            person_id=ctx.person.id,
            created_at=ctx.services.clock(),
            last_message_at=ctx.services.clock(),
            context={
                "topic": question.topic if question else None,
                "language": question.language if question else ctx.language,
                "district": question.district if question else None,
                "person_language": ctx.language,
            },
        )
        ctx.session.add(ticket)
        await ctx.session.flush()
    rejoin(ticket)
    await ctx.start_flow(TALKING, at=TALK, ticket_id=ticket.id)


async def ask_talk(ctx: Context) -> None:
    """Invite the person to write; say what the team will and will not see."""
    ctx.reply(
        _(
            "Please write your question. A person from the network's team will answer you "
            "here. They see your question, but not your name or phone number."
        ),
        [Button("ticket.close", _("Close the conversation"), str(ctx.data["ticket_id"]))],
    )


async def on_talk(ctx: Context, answer: Answer) -> str | None:
    """Each message goes to the team; the person may go on writing."""
    ticket = await ctx.session.get(Ticket, ctx.data["ticket_id"])
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed. Send /ask to start again."))
        return END
    text = forms.text_answer(ctx, answer, limit=MAX_MESSAGE)
    if text is None:
        return TALK
    await relay(ctx, ticket, text, from_coordinator=False)
    ctx.reply(_("Sent. You will get the answer here."))
    return TALK


async def relay(ctx: Context, ticket: Ticket, text: str, *, from_coordinator: bool) -> None:
    now = ctx.services.clock()
    ctx.session.add(
        TicketMessage(
            ticket_id=ticket.id, from_coordinator=from_coordinator, text=text, created_at=now
        )
    )
    ticket.last_message_at = now
    ticket.awaiting_coordinator = not from_coordinator
    if from_coordinator:
        person = await ctx.session.get(Person, ticket.person_id)
        if person is not None:
            left = ticket.status == TicketStatus.LEFT
            await ctx.send_to(person, _answer_message(ticket.id, text, left=left))
        return
    targets = (
        [await ctx.session.get(Person, ticket.claimed_by_person_id)]
        if ticket.claimed_by_person_id
        else await coordinators(ctx.session)
    )
    for coordinator in targets:
        if coordinator is not None:
            await ctx.send_to(coordinator, _question_message(ticket, text))


def _answer_message(ticket_id: int, text: str, *, left: bool = False) -> Callable[[], Reply]:
    """The answer as the person reads it; after they had closed the conversation, it says
    that this answer ends it (and where to ask again) instead of offering to reply."""

    def render() -> Reply:
        head = _("Answer from the network's team:") + "\n\n" + isolate(text)
        if left:
            return make_reply(
                head
                + "\n\n"
                + _(
                    "You had closed this conversation, so it ends with this answer. If you "
                    "need more help, send /ask."
                )
            )
        return make_reply(
            head,
            [
                [
                    Button("ticket.reply", _("Reply"), str(ticket_id)),
                    Button("ticket.close", _("Close the conversation"), str(ticket_id)),
                ]
            ],
        )

    return render


def _question_message(ticket: Ticket, text: str) -> Callable[[], Reply]:
    claimed = ticket.claimed_by_person_id is not None

    def render() -> Reply:
        head = _("Question {number} ({context}):").format(
            number=ticket.id, context=context_text(ticket)
        )
        buttons = [Button("ticket.claim", _("Answer it"), str(ticket.id))]
        if claimed:
            buttons = [Button("ticket.claim", _("Answer"), str(ticket.id))]
        return make_reply(head + "\n" + isolate(text), [buttons])

    return render


@router.button("ticket.reply")
async def reply_button(ctx: Context, value: str) -> None:
    ticket = await get_row(ctx.session, Ticket, value)
    if ticket is None or ticket.person_id != ctx.person.id:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed. Send /ask to start again."))
        return
    rejoin(ticket)
    await ctx.start_flow(TALKING, at=TALK, ticket_id=ticket.id)


@router.button("ticket.claim")
async def claim(ctx: Context, value: str) -> None:
    """A coordinator takes the question; what they write next goes to the person."""
    ticket = await get_row(ctx.session, Ticket, value)
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed."))
        return
    if ticket.claimed_by_person_id not in (None, ctx.person.id):
        ctx.reply(_("Another coordinator is already answering this question."))
        return
    ticket.claimed_by_person_id = ctx.person.id
    if ticket.status != TicketStatus.LEFT:  # left stays left: the answer will end it
        ticket.status = TicketStatus.CLAIMED
    await ctx.start_flow(TALKING, at=ANSWER, ticket_id=ticket.id)


async def ask_answer(ctx: Context) -> None:
    """Show the conversation so far; what the coordinator writes goes to the person."""
    ticket = await ctx.session.get(Ticket, ctx.data["ticket_id"])
    assert ticket is not None
    messages = list(
        await ctx.session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.id)
        )
    )
    lines = [
        _("Question {number} ({context}):").format(number=ticket.id, context=context_text(ticket))
    ]
    lines += [("→ " if m.from_coordinator else "← ") + isolate(m.text) for m in messages[-10:]]
    if ticket.status == TicketStatus.LEFT:
        lines += ["", _("The person has closed the conversation but still waits for an answer.")]
    lines += ["", _("Write your answer. It goes to the person through the bot.")]
    ctx.reply(
        "\n".join(lines), [Button("ticket.close", _("Close the conversation"), str(ticket.id))]
    )


async def on_answer(ctx: Context, answer: Answer) -> str | None:
    """Each message goes to the person; an answer to someone who had left closes it."""
    ticket = await ctx.session.get(Ticket, ctx.data["ticket_id"])
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed."))
        return END
    text = forms.text_answer(ctx, answer, limit=MAX_MESSAGE)
    if text is None:
        return ANSWER
    await relay(ctx, ticket, text, from_coordinator=True)
    if ticket.status == TicketStatus.LEFT:
        ticket.status, ticket.closed_at = TicketStatus.CLOSED, ctx.services.clock()
        ctx.reply(
            _(
                "Sent. The person had closed the conversation before your answer, so it is "
                "closed now."
            )
        )
        return END
    ctx.reply(_("Sent."))
    return ANSWER


TALKING = router.add_flow(
    Flow(
        name="ticket",
        first=TALK,
        steps={
            TALK: Step(ask_talk, on_talk),
            ANSWER: Step(ask_answer, on_answer),
        },
    )
)


@router.button("ticket.close", once=True, destructive=True)
async def close(ctx: Context, value: str) -> None:
    """Either side ends the conversation; the person's unanswered question stays on the desk."""
    ticket = await get_row(ctx.session, Ticket, value)
    is_person = ticket is not None and ticket.person_id == ctx.person.id
    is_coordinator = ticket is not None and ctx.person.has_role(Role.COORDINATOR)
    if ticket is None or not (is_person or is_coordinator):
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    await ctx.end_flow()
    if ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed."))
        return
    if is_person and ticket.awaiting_coordinator:
        leave(ctx, ticket)
        return
    ticket.status, ticket.closed_at = TicketStatus.CLOSED, ctx.services.clock()
    ctx.reply(_("The conversation is closed. Thank you!"))
    other = (
        await ctx.session.get(Person, ticket.claimed_by_person_id)
        if is_person and ticket.claimed_by_person_id
        else await ctx.session.get(Person, ticket.person_id)
        if not is_person
        else None
    )
    if other is not None:
        await ctx.send_to(other, _closed_message(ticket.id))


def leave(ctx: Context, ticket: Ticket) -> None:
    """The person closes while their question waits: it stays on the desk until answered,
    unless they withdraw it."""
    ticket.status = TicketStatus.LEFT
    ctx.reply(
        _(
            "Your question stays with the team until someone answers it; the answer will "
            "reach you here. If you no longer need an answer, withdraw your question."
        ),
        [Button("ticket.withdraw", _("Withdraw my question"), str(ticket.id))],
    )


def _closed_message(number: int) -> Callable[[], Reply]:
    return lambda: make_reply(
        _("Conversation {number} was closed by the other side.").format(number=number)
    )


@router.button("ticket.withdraw", once=True, destructive=True)
async def withdraw(ctx: Context, value: str) -> None:
    """The person no longer needs an answer: the question leaves the desk."""
    ticket = await get_row(ctx.session, Ticket, value)
    if ticket is None or ticket.person_id != ctx.person.id:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed."))
        return
    await ctx.end_flow()
    ticket.status, ticket.closed_at = TicketStatus.CLOSED, ctx.services.clock()
    ticket.awaiting_coordinator = False
    ctx.reply(_("Your question is withdrawn. Send /ask if you need help again."))
    if ticket.claimed_by_person_id:
        coordinator = await ctx.session.get(Person, ticket.claimed_by_person_id)
        if coordinator is not None:
            number = ticket.id
            await ctx.send_to(
                coordinator,
                lambda: make_reply(
                    _("Question {number} was withdrawn by the person.").format(number=number)
                ),
            )


async def open_tickets(session: AsyncSession) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.status != TicketStatus.CLOSED)
        )
        or 0
    )


@router.button("admin.tickets")
async def tickets_list(ctx: Context, _value: str) -> None:
    """The desk: every question not closed, also those whose asker has left the chat."""
    tickets = list(
        await ctx.session.scalars(
            select(Ticket)
            .where(Ticket.status != TicketStatus.CLOSED)
            .order_by(Ticket.last_message_at)
            .limit(20)
        )
    )
    if not tickets:
        ctx.reply(_("There are no open questions."))
        return
    for ticket in tickets:
        first = await ctx.session.scalar(
            select(TicketMessage.text)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.id)
            .limit(1)
        )
        ctx.reply(
            _("Question {number} ({context}):").format(
                number=ticket.id, context=context_text(ticket)
            )
            + "\n"
            + isolate(first or "…"),
            [Button("ticket.claim", _("Answer it"), str(ticket.id))],
        )


async def remind_tickets(session: AsyncSession, services: Services, now: datetime) -> int:
    """Questions waiting for an answer too long are brought back to the coordinators."""
    limit = timedelta(hours=services.settings.ticket_remind_hours)
    notifier = Notifier(session, services)
    waiting = list(
        await session.scalars(
            select(Ticket).where(
                Ticket.status != TicketStatus.CLOSED,
                Ticket.awaiting_coordinator.is_(True),
                Ticket.last_message_at < now - limit,
            )
        )
    )
    reminded = 0
    for ticket in waiting:
        if ticket.reminded_at is not None and ticket.reminded_at > ticket.last_message_at:
            continue
        ticket.reminded_at = now
        targets = (
            [await session.get(Person, ticket.claimed_by_person_id)]
            if ticket.claimed_by_person_id
            else await coordinators(session)
        )
        for coordinator in targets:
            if coordinator is not None:
                await notifier.to_person(coordinator, _reminder(ticket))
        reminded += 1
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return reminded


def _reminder(ticket: Ticket) -> Callable[[], Reply]:
    return lambda: make_reply(
        _("Question {number} ({context}) is still waiting for an answer.").format(
            number=ticket.id, context=context_text(ticket)
        ),
        [Button("ticket.claim", _("Answer it"), str(ticket.id))],
    )


@router.job("tickets_upkeep", every=timedelta(hours=1))
async def tickets_upkeep(services: Services) -> None:
    """Remind coordinators of questions to the team that wait for an answer."""
    async with services.session_factory() as session:
        reminded = await remind_tickets(session, services, services.clock())
    if reminded:
        logger.info("tickets: %s reminded", reminded)
