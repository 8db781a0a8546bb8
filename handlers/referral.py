"""Referral advice: /ask (guided), /search (free text), "Did this help?" and the hand-over of a
question to a person.

    ask.topic → ask.subtopic (where the topic has some) → ask.language → ask.area → results

A hand-over opens a ticket. Coordinators claim it and answer through the bot; they see the
question, its context and a ticket number — never the person's messenger name or handle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import directory_search
from bot.core.context import Context, PendingReply, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, current_timezone, isolate, join_parts
from bot.core.ids import get_row
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Button, Format, Reply
from db.directory import SUBTOPICS, TOPICS, DirService
from db.models import (
    Person,
    ReferralQuestion,
    Role,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from handlers import forms
from handlers.directory_cards import card, load
from handlers.offers import coordinators
from handlers.taxonomy import language_label, language_name

router = Router("referral")

TOPIC, SUBTOPIC, LANGUAGE, AREA = "ask.topic", "ask.subtopic", "ask.language", "ask.area"
TALK, ANSWER = "ticket.talk", "ticket.answer"
ANY = "__any__"
RESULTS = 5
ASK_LANGUAGES = ("de", "en", "ar", "fa", "uk", "ru", "tr", "ps", "ku", "ti", "so", "fr")
MAX_MESSAGE = 2000


def topic_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in TOPICS.items()]


async def ask_topic(ctx: Context) -> None:
    """What is it about?"""
    ctx.reply(_("What do you need help with?"), forms.choice_buttons(TOPIC, topic_options()))


async def on_topic(ctx: Context, answer: Answer) -> str | None:
    topic = forms.chosen(ctx, answer, topic_options())
    if topic is None:
        return TOPIC
    ctx.remember(topic=topic, subtopic=None)
    return SUBTOPIC if topic in SUBTOPICS else LANGUAGE


def subtopic_options(ctx: Context) -> list[forms.Option]:
    """The topic's parts, and "Something else" last, as in every option list."""
    return [
        *((k, _(v)) for k, v in SUBTOPICS.get(ctx.data["topic"], {}).items()),
        (ANY, _("Something else")),
    ]


async def ask_subtopic(ctx: Context) -> None:
    """A narrowing question where the topic has parts."""
    ctx.reply(
        _("What exactly is it about?"),
        forms.choice_buttons(SUBTOPIC, subtopic_options(ctx), per_row=1),
    )


async def on_subtopic(ctx: Context, answer: Answer) -> str | None:
    choice = forms.chosen(ctx, answer, subtopic_options(ctx))
    if choice is None:
        return SUBTOPIC
    ctx.remember(subtopic=None if choice == ANY else choice)
    return LANGUAGE


def language_options() -> list[forms.Option]:
    return [*((c, language_label(c)) for c in ASK_LANGUAGES), (ANY, _("Any language"))]


async def ask_language(ctx: Context) -> None:
    """In which language should the counselling be?"""
    ctx.reply(
        _("In which language would you like to be advised?"),
        forms.choice_buttons(LANGUAGE, language_options(), per_row=3),
    )


async def on_language(ctx: Context, answer: Answer) -> str | None:
    choice = forms.chosen(ctx, answer, language_options())
    if choice is None:
        return LANGUAGE
    ctx.remember(language=None if choice == ANY else choice)
    return AREA


def area_options(ctx: Context) -> list[forms.Option]:
    return [*((d, d) for d in ctx.settings.districts), (ANY, _("Anywhere in the city"))]


async def ask_area(ctx: Context) -> None:
    """Where in the city?"""
    ctx.reply(_("Where in the city?"), forms.choice_buttons(AREA, area_options(ctx)))


async def on_area(ctx: Context, answer: Answer) -> str | None:
    choice = forms.chosen(ctx, answer, area_options(ctx))
    if choice is None:
        return AREA
    ctx.remember(district=None if choice == ANY else choice)
    await show_results(ctx)
    return END


async def rank(
    session: AsyncSession,
    services: Services,
    topic: str,
    subtopic: str | None,
    language: str | None,
    district: str | None,
    now: datetime,
) -> list[str]:
    """Topic fit first, then the language offered, the area, and whether it is open now."""
    ids = list(
        await session.scalars(
            select(DirService.id).where(DirService.topic == topic, DirService.status == "active")
        )
    )
    infos = await load(session, ids, services.settings.default_language)
    local = now.astimezone(services.settings.tz)

    def score(service_id: str) -> tuple[int, str]:
        info = infos[service_id]
        points = 50
        if subtopic and info.service.subtopic == subtopic:
            points += 30
        if language and language in info.languages:
            points += 40
        if district and any(loc.district == district for loc in info.locations):
            points += 20
        if info.open_at(local):
            points += 10
        return -points, info.service.name

    return sorted(ids, key=score)[:RESULTS]


async def show_services(ctx: Context, ids: list[str]) -> None:
    settings = ctx.settings
    infos = await load(ctx.session, ids, settings.default_language)
    now = ctx.services.clock()
    stale = timedelta(days=30 * settings.stale_months)
    local = now.astimezone(current_timezone())
    for service_id in ids:
        info = infos[service_id]
        ctx.replies.append(
            PendingReply(
                make_reply(card(info, now, stale, info.open_at(local)), (), Format.HTML),
                ctx.person.id,
            )
        )


async def show_results(ctx: Context) -> None:
    d = ctx.data
    ids = await rank(
        ctx.session,
        ctx.services,
        d["topic"],
        d.get("subtopic"),
        d.get("language"),
        d.get("district"),
        ctx.services.clock(),
    )
    question = ReferralQuestion(
        topic=d["topic"],
        subtopic=d.get("subtopic"),
        language=d.get("language"),
        district=d.get("district"),
        results=len(ids),
        created_at=ctx.services.clock(),
    )
    ctx.session.add(question)
    await ctx.session.flush()
    if not ids:
        ctx.reply(
            _("I found no service for this in our directory."),
            [Button("referral.handover", _("Talk to a person"), str(question.id))],
        )
        return
    ctx.reply(_("These services can help:"))
    await show_services(ctx, ids)
    ctx.reply(
        _("Did this help?"),
        [
            [
                Button("referral.helpful", _("Yes"), f"{question.id}:yes"),
                Button("referral.helpful", _("No"), f"{question.id}:no"),
            ],
            [Button("referral.handover", _("Talk to a person"), str(question.id))],
        ],
    )


ASK = router.add_flow(
    Flow(
        name="ask",
        first=TOPIC,
        steps={
            TOPIC: Step(ask_topic, on_topic),
            SUBTOPIC: Step(ask_subtopic, on_subtopic),
            LANGUAGE: Step(ask_language, on_language),
            AREA: Step(ask_area, on_area),
        },
    )
)


@router.command("ask", N_("Find counselling and help in your language"))
async def ask_command(ctx: Context) -> None:
    await ctx.start_flow(ASK)


@router.button("referral.ask")
async def ask_button(ctx: Context, _value: str) -> None:
    await ctx.start_flow(ASK)


@router.button("referral.helpful", once=True)
async def helpful(ctx: Context, value: str) -> None:
    raw_id, _sep, verdict = value.partition(":")
    question = await get_row(ctx.session, ReferralQuestion, raw_id)
    if question is None or verdict not in ("yes", "no"):
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    question.helpful = verdict == "yes"
    if question.helpful:
        ctx.reply(_("Glad to hear it. Good luck!"))
    else:
        ctx.reply(
            _("I am sorry. A person from our team can help you further."),
            [Button("referral.handover", _("Talk to a person"), str(question.id))],
        )


@router.command(
    "search", N_("Search the directory, e.g. /search legal advice arabic"), needs_consent=False
)
async def search_command(ctx: Context) -> None:
    query = ctx.incoming.args
    if not directory_search.terms(query):
        ctx.reply(_("What are you looking for? For example: /search legal advice arabic"))
        return
    ids = await directory_search.search(ctx.session, query, RESULTS)
    if not ids:
        ctx.reply(
            _("Nothing found for “{query}”. Try other words, or use /ask.").format(
                query=isolate(query[:100])
            )
        )
        return
    ctx.reply(_("Results for “{query}”:").format(query=isolate(query[:100])))
    await show_services(ctx, ids)


# --- hand-over to a person --------------------------------------------------------------------
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
    ticket = await ctx.session.get(Ticket, ctx.data["ticket_id"])
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed. Send /ask to start again."))
        return END
    text = forms.text_answer(ctx, answer, limit=MAX_MESSAGE)
    if text is None:
        return TALK
    await relay(ctx, ticket, text, from_coordinator=False)
    ctx.reply(_("Sent. You will get the answer here."))
    return TALK_WAIT


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
            await ctx.send_to(person, _answer_message(ticket.id, text))
        return
    targets = (
        [await ctx.session.get(Person, ticket.claimed_by_person_id)]
        if ticket.claimed_by_person_id
        else await coordinators(ctx.session)
    )
    for coordinator in targets:
        if coordinator is not None:
            await ctx.send_to(coordinator, _question_message(ticket, text))


def _answer_message(ticket_id: int, text: str) -> Callable[[], Reply]:
    return lambda: make_reply(
        _("Answer from the network's team:") + "\n\n" + isolate(text),
        [
            [
                Button("ticket.reply", _("Reply"), str(ticket_id)),
                Button("ticket.close", _("Close the conversation"), str(ticket_id)),
            ]
        ],
    )


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


TALK_WAIT = TALK  # the person may go on writing; each message reaches the team


@router.button("ticket.reply")
async def reply_button(ctx: Context, value: str) -> None:
    ticket = await get_row(ctx.session, Ticket, value)
    if ticket is None or ticket.person_id != ctx.person.id:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed. Send /ask to start again."))
        return
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
    lines += ["", _("Write your answer. It goes to the person through the bot.")]
    ctx.reply(
        "\n".join(lines), [Button("ticket.close", _("Close the conversation"), str(ticket.id))]
    )


async def on_answer(ctx: Context, answer: Answer) -> str | None:
    ticket = await ctx.session.get(Ticket, ctx.data["ticket_id"])
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        ctx.reply(_("This conversation is closed."))
        return END
    text = forms.text_answer(ctx, answer, limit=MAX_MESSAGE)
    if text is None:
        return ANSWER
    await relay(ctx, ticket, text, from_coordinator=True)
    ctx.reply(_("Sent."))
    return ANSWER_WAIT


ANSWER_WAIT = ANSWER

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


@router.button("ticket.close", once=True)
async def close(ctx: Context, value: str) -> None:
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
        number = ticket.id
        await ctx.send_to(
            other,
            lambda: make_reply(
                _("Conversation {number} was closed by the other side.").format(number=number)
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


router.menu_entry(
    "referral.ask",
    N_("Find help and counselling"),
    order=5,
    intents=["seeking_help", "volunteer", "organisation"],
)
