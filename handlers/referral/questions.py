"""Referral advice: /ask (guided), /search (free text), "Did this help?" and the hand-over of a
question to a person.

    ask.topic → ask.subtopic (where the topic has some) → ask.language → ask.area → results

"Talk to a person" hands the question over to the team: a ticket (`handlers.network.tickets`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context, PendingReply, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, current_timezone, isolate
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Button, Format
from db.directory import DirService
from db.models import ReferralQuestion
from handlers.basics import forms
from handlers.basics.taxonomy import language_label
from handlers.referral.cards import card, load
from handlers.referral.directory import search as directory_search
from handlers.referral.topics import SUBTOPICS, TOPICS

router = Router("referral")

TOPIC, SUBTOPIC, LANGUAGE, AREA = "ask.topic", "ask.subtopic", "ask.language", "ask.area"
ANY = "__any__"
RESULTS = 5
ASK_LANGUAGES = ("de", "en", "ar", "fa", "uk", "ru", "tr", "ps", "ku", "ti", "so", "fr")


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


router.menu_entry(
    "referral.ask",
    N_("Find help and counselling"),
    order=5,
    intents=["seeking_help", "volunteer", "organisation"],
)
