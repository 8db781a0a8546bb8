"""Event alerts per person or per group chat (/subscribe): topics, area, audience, the language
the alerts arrive in, and whether a weekly digest is wanted. A group admin subscribes a group
(a refugee self-organisation's group can get its alerts in Arabic).

    subscribe.topics → subscribe.area → subscribe.audience → subscribe.language
    → subscribe.digest → END
"""

from __future__ import annotations

from sqlalchemy import select

from bot.core.context import Context
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import LANGUAGE_NAMES, N_, SHIPPED_LANGUAGES, _, format_list, isolate, semicolon
from bot.core.router import Router
from bot.core.types import Button
from db.models import Subscription
from handlers.basics import forms
from handlers.basics.taxonomy import language_name
from handlers.events.listing import AUDIENCES, topic_label
from handlers.referral.topics import TOPICS

router = Router("subscriptions")

TOPICS_STATE, AREA, AUDIENCE, LANGUAGE, DIGEST = (
    "subscribe.topics",
    "subscribe.area",
    "subscribe.audience",
    "subscribe.language",
    "subscribe.digest",
)
ALL = "__all__"


async def current(ctx: Context) -> Subscription | None:
    if ctx.is_group:
        return await ctx.session.scalar(
            select(Subscription).where(Subscription.chat_id == ctx.chat.id)
        )
    return await ctx.session.scalar(
        select(Subscription).where(Subscription.person_id == ctx.person.id)
    )


def topic_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in TOPICS.items()]


async def ask_topics(ctx: Context) -> None:
    """Which topics? None chosen means all."""
    ctx.reply(
        _(
            "Which topics are you interested in? Choose, then press Done. Press Done "
            "right away for all topics."
        ),
        forms.multi_buttons(TOPICS_STATE, topic_options(), ctx.data.get("topics", [])),
    )


async def on_topics(ctx: Context, answer: Answer) -> str | None:
    done = forms.multi_choice(ctx, "topics", answer, topic_options(), minimum=0)
    if done is None:
        ctx.reply(_("Please choose from the list, for example: 1, 3"))
    return AREA if done else TOPICS_STATE


def area_options(ctx: Context) -> list[forms.Option]:
    return [(ALL, _("The whole city")), *((d, d) for d in ctx.settings.districts)]


async def ask_area(ctx: Context) -> None:
    """Which part of the city?"""
    ctx.reply(
        _("Events in which part of the city?"), forms.choice_buttons(AREA, area_options(ctx))
    )


async def on_area(ctx: Context, answer: Answer) -> str | None:
    area = forms.chosen(ctx, answer, area_options(ctx))
    if area is None:
        return AREA
    ctx.remember(district=None if area == ALL else area)
    return AUDIENCE


def audience_options() -> list[forms.Option]:
    return [(ALL, _("All events")), *((k, _(v)) for k, v in AUDIENCES.items() if k != "everyone")]


async def ask_audience(ctx: Context) -> None:
    """Events for whom?"""
    ctx.reply(_("Events for whom?"), forms.choice_buttons(AUDIENCE, audience_options()))


async def on_audience(ctx: Context, answer: Answer) -> str | None:
    audience = forms.chosen(ctx, answer, audience_options())
    if audience is None:
        return AUDIENCE
    ctx.remember(audience=None if audience == ALL else audience)
    return LANGUAGE


def language_options() -> list[forms.Option]:
    return [(code, LANGUAGE_NAMES[code]) for code in SHIPPED_LANGUAGES]


async def ask_language(ctx: Context) -> None:
    """In which language should alerts arrive?"""
    ctx.reply(
        _("In which language should the alerts arrive?"),
        forms.choice_buttons(LANGUAGE, language_options()),
    )


async def on_language(ctx: Context, answer: Answer) -> str | None:
    language = forms.single_choice(answer, language_options())
    if language is None:
        ctx.reply(_("Please choose one of the languages below."))
        return LANGUAGE
    ctx.remember(language=language)
    return DIGEST


async def ask_digest(ctx: Context) -> None:
    """A weekly overview too?"""
    ctx.reply(
        _("Would you also like a weekly overview of the coming events?"),
        [[Button(DIGEST, _("Yes"), "yes"), Button(DIGEST, _("No"), "no")]],
    )


async def on_digest(ctx: Context, answer: Answer) -> str | None:
    if answer.value not in ("yes", "no"):
        ctx.reply(_("Please answer with one of the buttons."))
        return DIGEST
    subscription = await current(ctx)
    if subscription is None:
        subscription = Subscription(
            person_id=None if ctx.is_group else ctx.person.id,
            chat_id=ctx.chat.id if ctx.is_group else None,
            created_at=ctx.services.clock(),
        )
        ctx.session.add(subscription)
    topics = ctx.data.get("topics", [])
    subscription.topics = "," + "".join(f"{t}," for t in topics)
    subscription.district = ctx.data.get("district")
    subscription.audience = ctx.data.get("audience")
    subscription.language = ctx.data["language"]
    subscription.digest = answer.value == "yes"
    ctx.reply(_("Done! You will get alerts for: {summary}").format(summary=summary(subscription)))
    return END


def summary(subscription: Subscription) -> str:
    topics = [t for t in subscription.topics.split(",") if t]
    parts = [
        format_list([topic_label(t) for t in topics]) if topics else _("all topics"),
        isolate(subscription.district) if subscription.district else _("the whole city"),
    ]
    if subscription.audience:
        parts.append(_(AUDIENCES[subscription.audience]))
    parts.append(language_name(subscription.language))
    if subscription.digest:
        parts.append(_("weekly overview"))
    return semicolon().join(parts)


SUBSCRIBE = router.add_flow(
    Flow(
        name="subscribe",
        first=TOPICS_STATE,
        steps={
            TOPICS_STATE: Step(ask_topics, on_topics),
            AREA: Step(ask_area, on_area),
            AUDIENCE: Step(ask_audience, on_audience),
            LANGUAGE: Step(ask_language, on_language),
            DIGEST: Step(ask_digest, on_digest),
        },
    )
)


@router.command("subscribe", N_("Get alerts about events"), in_groups=True)
async def subscribe(ctx: Context) -> None:
    if ctx.is_group and not await ctx.services.is_group_admin(
        ctx.platform, ctx.chat.platform_chat_id, ctx.incoming.actor.user_id
    ):
        ctx.reply(_("Only an admin of this group can subscribe it to alerts."))
        return
    existing = await current(ctx)
    if existing is not None:
        ctx.reply(
            _("Current alerts: {summary}").format(summary=summary(existing)),
            [
                [
                    Button("subscribe.change", _("Change")),
                    Button("subscribe.stop", _("Stop alerts")),
                ]
            ],
        )
        return
    await ctx.start_flow(SUBSCRIBE, language=ctx.chat.language if ctx.is_group else ctx.language)


@router.button("subscribe.start")
async def subscribe_button(ctx: Context, _value: str) -> None:
    await subscribe(ctx)


@router.button("subscribe.change")
async def change(ctx: Context, _value: str) -> None:
    await ctx.start_flow(SUBSCRIBE)


@router.button("subscribe.stop", once=True, destructive=True)
async def stop(ctx: Context, _value: str) -> None:
    existing = await current(ctx)
    if existing is not None:
        await ctx.session.delete(existing)
    ctx.reply(_("Alerts are switched off."))
