"""Creating, changing and cancelling events (/newevent), for coordinators and members of
approved organisations. Someone in several approved organisations is first asked for which
one (`handlers.organisations.posting_for`). Changes and cancellations reach everyone registered or
subscribed.

    (event.organisation →) event.title → event.description → event.start → event.end
    → event.place → event.topic → event.audience → event.languages → event.capacity
    → event.repeat → event.preview
    event.preview --change--> event.edit → (that field) → event.preview
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from bot.core import multilang
from bot.core.context import Context, PendingReply, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_number, isolate, ngettext
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.types import Button, Format
from db.models import Event, EventStatus, Intent, Organisation, Role
from handlers.basics import forms
from handlers.basics.audit import audit
from handlers.basics.taxonomy import SPOKEN_LANGUAGES, language_label
from handlers.events.listing import AUDIENCES, REPEATS, card, next_occurrence
from handlers.organisations import posting_for
from handlers.referral.topics import TOPICS
from handlers.volunteering.need_parser import next_weekday, parse_line

router = Router("event_post")

TITLE, DESCRIPTION, START, END_, PLACE = (
    "event.title",
    "event.description",
    "event.start",
    "event.end",
    "event.place",
)
TOPIC, AUDIENCE, LANGUAGES, CAPACITY, REPEAT = (
    "event.topic",
    "event.audience",
    "event.languages",
    "event.capacity",
    "event.repeat",
)
PREVIEW, EDIT = "event.preview", "event.field"
ORGANISATION = "event.organisation"
ORDER = [
    (posting_for.KEY, ORGANISATION),
    ("title", TITLE),
    ("description", DESCRIPTION),
    ("starts_at", START),
    ("ends_at", END_),
    ("place_set", PLACE),
    ("topic", TOPIC),
    ("audience", AUDIENCE),
    ("languages", LANGUAGES),
    ("capacity_set", CAPACITY),
    ("repeat", REPEAT),
]
URL = re.compile(r"^https?://\S+$")
ZONE = re.compile(r"\b([A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)\b")


def next_missing(data: dict[str, Any]) -> str:
    return next((state for key, state in ORDER if key not in data), PREVIEW)


def _now(ctx: Context) -> datetime:
    return ctx.services.clock()


async def ask_title(ctx: Context) -> None:
    """The title; several languages possible."""
    ctx.reply(
        _(
            "What is the event called? To give it in several languages, start each "
            "language on its own line with its code (de: …, ar: …)."
        )
    )


async def on_title(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=400, minimum=3)
    if text is None:
        return TITLE
    ctx.remember(title=multilang.parse(text, ctx.language))
    return next_missing(ctx.data)


async def ask_description(ctx: Context) -> None:
    """What happens there (optional, several languages possible)."""
    ctx.reply(
        _("Describe the event in a few sentences (several languages possible, or skip)."),
        [Button(DESCRIPTION, _("Skip"), forms.SKIP)],
    )


async def on_description(ctx: Context, answer: Answer) -> str | None:
    if answer.value == forms.SKIP:
        ctx.remember(description={})
        return next_missing(ctx.data)
    text = forms.text_answer(ctx, answer, limit=2000)
    if text is None:
        return DESCRIPTION
    ctx.remember(description=multilang.parse(text, ctx.language))
    return next_missing(ctx.data)


def _moment(ctx: Context, text: str, zone: ZoneInfo) -> datetime | str:
    today = _now(ctx).astimezone(zone).date()
    parsed = parse_line(text, today)
    if parsed.at is None or (parsed.on_date is None and parsed.weekday is None):
        return _("Please give a date and time, for example 12.12. 10:00 or Tue 10:00.")
    if parsed.on_date is not None:
        return datetime.combine(parsed.on_date, parsed.at, tzinfo=zone)
    assert parsed.weekday is not None
    return next_weekday(_now(ctx), parsed.weekday, parsed.at, zone)


async def ask_start(ctx: Context) -> None:
    """When does it start? (a time zone may follow)"""
    ctx.reply(
        _(
            "When does it start? For example 12.12. 18:00. Times are in {zone}; add "
            "another time zone if needed, e.g. 12.12. 18:00 Europe/Kyiv."
        ).format(zone=ctx.settings.timezone)
    )


async def on_start(ctx: Context, answer: Answer) -> str | None:
    text = answer.text or ""
    zone_name = ctx.settings.timezone
    if match := ZONE.search(text):
        zone_name = match.group(1)
        text = text.replace(zone_name, " ")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.reply(
            _("I do not know the time zone {zone}. Please use a name like Europe/Berlin.").format(
                zone=isolate(zone_name)
            )
        )
        return START
    moment = _moment(ctx, text, zone)
    if isinstance(moment, str):
        ctx.reply(moment)
        return START
    if moment <= _now(ctx):
        ctx.reply(_("That date is in the past. Please give a date from today on."))
        return START
    if moment > _now(ctx) + timedelta(days=730):
        ctx.reply(_("That is more than two years ahead. Please give a nearer date."))
        return START
    ctx.remember(starts_at=moment.astimezone(UTC).isoformat(), timezone=zone_name)
    ctx.forget("ends_at")
    return next_missing(ctx.data)


async def ask_end(ctx: Context) -> None:
    """When does it end? A time, or a date and time."""
    ctx.reply(_("When does it end? A time like 20:00, or a date and time."))


async def on_end(ctx: Context, answer: Answer) -> str | None:
    zone = ZoneInfo(ctx.data["timezone"])
    start = datetime.fromisoformat(ctx.data["starts_at"]).astimezone(zone)
    parsed = parse_line(answer.text or "", start.date())
    if parsed.at is None:
        ctx.reply(_("Please give a time like 20:00, or a date and time."))
        return END_
    day = parsed.on_date or start.date()
    end = datetime.combine(day, parsed.at, tzinfo=zone)
    if end <= start:
        ctx.reply(_("The end must be after the start."))
        return END_
    ctx.remember(ends_at=end.astimezone(UTC).isoformat())
    return next_missing(ctx.data)


async def ask_place(ctx: Context) -> None:
    """An address, an online link, or both."""
    ctx.reply(
        _(
            "Where does it take place? An address, or a link for online events "
            "(https://…). Choose the district if it is in the city."
        ),
        forms.choice_buttons(PLACE, [(d, d) for d in ctx.settings.districts]),
    )


async def on_place(ctx: Context, answer: Answer) -> str | None:
    if answer.is_button:
        district = forms.single_choice(answer, [(d, d) for d in ctx.settings.districts])
        if district is None:
            return PLACE
        ctx.remember(district=district)
        if ctx.data.get("place") or ctx.data.get("online_url"):
            ctx.remember(place_set=True)
            return next_missing(ctx.data)
        ctx.reply(_("And the address or link?"))
        return PLACE
    text = forms.text_answer(ctx, answer, limit=300)
    if text is None:
        return PLACE
    if URL.match(text):
        ctx.remember(online_url=text)
    else:
        ctx.remember(place=text[:200])
    ctx.remember(place_set=True)
    return next_missing(ctx.data)


def topic_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in TOPICS.items()]


async def ask_topic(ctx: Context) -> None:
    """Which topic?"""
    ctx.reply(_("Which topic fits best?"), forms.choice_buttons(TOPIC, topic_options()))


async def on_topic(ctx: Context, answer: Answer) -> str | None:
    topic = forms.chosen(ctx, answer, topic_options())
    if topic is None:
        return TOPIC
    ctx.remember(topic=topic)
    return next_missing(ctx.data)


def audience_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in AUDIENCES.items()]


async def ask_audience(ctx: Context) -> None:
    """Who is it for?"""
    ctx.reply(
        _("Who is the event for?"), forms.choice_buttons(AUDIENCE, audience_options(), per_row=2)
    )


async def on_audience(ctx: Context, answer: Answer) -> str | None:
    audience = forms.chosen(ctx, answer, audience_options())
    if audience is None:
        return AUDIENCE
    ctx.remember(audience=audience)
    return next_missing(ctx.data)


def language_options() -> list[forms.Option]:
    return [(c, language_label(c)) for c in SPOKEN_LANGUAGES]


async def ask_languages(ctx: Context) -> None:
    """Languages spoken at the event."""
    ctx.reply(
        _("Which languages will be spoken at the event? Choose, then press Done."),
        forms.multi_buttons(
            LANGUAGES, language_options(), ctx.data.get("chosen_languages", []), per_row=3
        ),
    )


async def on_languages(ctx: Context, answer: Answer) -> str | None:
    done = forms.multi_choice(ctx, "chosen_languages", answer, language_options(), minimum=0)
    if done is None:
        ctx.reply(_("I do not know that language. Please choose from the list."))
    if not done:
        return LANGUAGES
    ctx.remember(languages=ctx.data.get("chosen_languages", []))
    return next_missing(ctx.data)


async def ask_capacity(ctx: Context) -> None:
    """How many places?"""
    ctx.reply(
        _("How many people can come? Type a number, or choose no limit."),
        [Button(CAPACITY, _("No limit"), "none")],
    )


async def on_capacity(ctx: Context, answer: Answer) -> str | None:
    if answer.value == "none":
        ctx.remember(capacity=None, capacity_set=True)
        return next_missing(ctx.data)
    text = (answer.text or "").strip()
    if not text.isdecimal() or not 1 <= int(text) <= 10_000:
        ctx.reply(_("Please give a number from 1 to {max}.").format(max=10_000))
        return CAPACITY
    ctx.remember(capacity=int(text), capacity_set=True)
    return next_missing(ctx.data)


def repeat_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in REPEATS.items()]


async def ask_repeat(ctx: Context) -> None:
    """Once, weekly or monthly?"""
    ctx.reply(_("Does the event repeat?"), forms.choice_buttons(REPEAT, repeat_options(), 3))


async def on_repeat(ctx: Context, answer: Answer) -> str | None:
    repeat = forms.chosen(ctx, answer, repeat_options())
    if repeat is None:
        return REPEAT
    ctx.remember(repeat=repeat)
    return next_missing(ctx.data)


def apply(event: Event, data: dict[str, Any]) -> Event:
    event.title, event.description = data["title"], data.get("description", {})
    event.starts_at = datetime.fromisoformat(data["starts_at"])
    event.ends_at = datetime.fromisoformat(data["ends_at"])
    event.timezone = data["timezone"]
    event.place, event.online_url = data.get("place", ""), data.get("online_url", "")
    event.district = data.get("district")
    event.topic, event.audience, event.repeat = data["topic"], data["audience"], data["repeat"]
    event.languages = list(data.get("languages", []))
    event.capacity = data.get("capacity")
    return event


async def ask_preview(ctx: Context) -> None:
    """The event card as others will see it."""
    event = apply(Event(status=EventStatus.PUBLISHED), ctx.data)
    organisation = (
        await ctx.session.get(Organisation, ctx.data["org_id"]) if ctx.data.get("org_id") else None
    )
    ctx.replies.append(
        PendingReply(
            make_reply(card(event, event.starts_at, organisation, 0), (), Format.HTML),
            ctx.person.id,
        )
    )
    verb = _("Save the changes?") if ctx.data.get("event_id") else _("Publish it?")
    go_ahead = _("Save") if ctx.data.get("event_id") else _("Publish")
    ctx.reply(verb, forms.preview_buttons(PREVIEW, go_ahead))


async def on_preview(ctx: Context, answer: Answer) -> str | None:
    cancelled = _("Nothing was saved.")
    step = forms.preview_answer(ctx, answer, state=PREVIEW, edit=EDIT, cancelled=cancelled)
    if step != forms.PUBLISH:
        return step
    from handlers.events.alerts import announce, fill_freed_seats, notify_change, reschedule

    now = _now(ctx)
    if ctx.data.get("event_id"):
        event = await ctx.session.get(Event, ctx.data["event_id"])
        if event is None or event.status != EventStatus.PUBLISHED:
            ctx.reply(_("This event has been cancelled."))
            return END
        before = Event(
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            timezone=event.timezone,
            repeat=event.repeat,
            repeat_until=event.repeat_until,
        )
        apply(event, ctx.data)
        event.updated_at = now
        audit(ctx, "event.change", f"event:{event.id}")
        await reschedule(ctx.session, ctx.services, event, before, now)
        await fill_freed_seats(ctx.notifier, event, now)
        count = await notify_change(ctx.notifier, ctx.services, event, cancelled=False)
        ctx.reply(
            ngettext(
                "Saved. {count} person was told about the change.",
                "Saved. {count} people were told about the change.",
                count,
            ).format(count=format_number(count))
        )
        return END
    event = apply(
        Event(
            status=EventStatus.PUBLISHED,
            organisation_id=ctx.data.get("org_id"),
            created_by_person_id=ctx.person.id,
            created_at=now,
            updated_at=now,
        ),
        ctx.data,
    )
    ctx.session.add(event)
    await ctx.session.flush()
    broadcast = await announce(ctx.notifier, ctx.services, event, now, ctx.person.id)
    ctx.reply(
        ngettext(
            "Published! The announcement goes to {count} subscriber.",
            "Published! The announcement goes to {count} subscribers.",
            broadcast.total if broadcast else 0,
        ).format(count=broadcast.total if broadcast else 0),
        [Button("broadcast.progress", _("Show progress"), str(broadcast.id))] if broadcast else (),
    )
    return END


EDITABLE = {
    "title": N_("Title"),
    "description": N_("Description"),
    "when": N_("Date and time"),
    "place": N_("Place"),
    "topic": N_("Topic"),
    "audience": N_("For whom"),
    "languages": N_("Languages"),
    "capacity": N_("Places"),
    "repeat": N_("Repetition"),
}
EDIT_KEYS = {
    "organisation": (posting_for.KEY,),
    "title": ("title",),
    "description": ("description",),
    "when": ("starts_at", "ends_at"),
    "place": ("place_set", "place", "online_url"),
    "topic": ("topic",),
    "audience": ("audience",),
    "languages": ("languages", "chosen_languages"),
    "capacity": ("capacity_set", "capacity"),
    "repeat": ("repeat",),
}


async def ask_edit(ctx: Context) -> None:
    """Which part to change?"""
    forms.ask_which_field(ctx, EDIT, posting_for.editable(ctx.data, EDITABLE))


async def on_edit(ctx: Context, answer: Answer) -> str | None:
    key = forms.which_field(ctx, answer, posting_for.editable(ctx.data, EDITABLE))
    if key is None:
        return EDIT
    ctx.forget(*EDIT_KEYS[key])
    return next_missing(ctx.data)


CREATE = router.add_flow(
    Flow(
        name="event",
        first=TITLE,
        steps={
            ORGANISATION: posting_for.step(ORGANISATION, next_missing),
            TITLE: Step(ask_title, on_title),
            DESCRIPTION: Step(ask_description, on_description),
            START: Step(ask_start, on_start),
            END_: Step(ask_end, on_end),
            PLACE: Step(ask_place, on_place),
            TOPIC: Step(ask_topic, on_topic),
            AUDIENCE: Step(ask_audience, on_audience),
            LANGUAGES: Step(ask_languages, on_languages),
            CAPACITY: Step(ask_capacity, on_capacity),
            REPEAT: Step(ask_repeat, on_repeat),
            PREVIEW: Step(ask_preview, on_preview),
            EDIT: Step(ask_edit, on_edit),
        },
    )
)


@router.command("newevent", N_("Announce an event"))
async def new_event(ctx: Context) -> None:
    """Start the event flow, asking for which organisation only when there is a choice."""
    data = await posting_for.start_data(ctx)
    await ctx.start_flow(CREATE, at=next_missing(data), **data)


def event_data(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "org_id": event.organisation_id,
        "title": event.title,
        "description": event.description,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "timezone": event.timezone,
        "place_set": True,
        "place": event.place,
        "online_url": event.online_url,
        "district": event.district,
        "topic": event.topic,
        "audience": event.audience,
        "languages": event.languages,
        "chosen_languages": event.languages,
        "capacity_set": True,
        "capacity": event.capacity,
        "repeat": event.repeat,
    }


async def own_event(ctx: Context, value: str) -> Event | None:
    event = await get_row(ctx.session, Event, value)
    if event is None or not (
        event.created_by_person_id == ctx.person.id or ctx.person.has_role(Role.COORDINATOR)
    ):
        ctx.notify(_("Only the organiser or a coordinator can change this event."))
        return None
    if event.status != EventStatus.PUBLISHED:
        ctx.reply(_("This event has been cancelled."))
        return None
    return event


@router.button("event.edit")
async def edit_button(ctx: Context, value: str) -> None:
    event = await own_event(ctx, value)
    if event is not None:
        await ctx.start_flow(CREATE, at=EDIT, **event_data(event))


@router.button("event.cancel")
async def cancel_button(ctx: Context, value: str) -> None:
    event = await own_event(ctx, value)
    if event is None:
        return
    ctx.reply(
        _(
            "Do you really want to cancel {title}? Everyone registered or subscribed will be told."
        ).format(title=isolate(multilang.pick(event.title)[0])),
        [
            Button("event.cancel_confirm", _("Yes, cancel it"), str(event.id)),
            Button("events.list", _("No")),
        ],
    )


@router.button("event.cancel_confirm", once=True)
async def cancel_confirm(ctx: Context, value: str) -> None:
    from handlers.events.alerts import notify_change

    event = await own_event(ctx, value)
    if event is None:
        return
    event.status = EventStatus.CANCELLED
    event.updated_at = _now(ctx)
    audit(ctx, "event.cancel", f"event:{event.id}")
    count = await notify_change(ctx.notifier, ctx.services, event, cancelled=True)
    ctx.reply(
        ngettext(
            "The event is cancelled. {count} person was told.",
            "The event is cancelled. {count} people were told.",
            count,
        ).format(count=format_number(count))
    )


async def upcoming_of(ctx: Context) -> list[Event]:
    return [
        e
        for e in await ctx.session.scalars(
            select(Event).where(
                Event.created_by_person_id == ctx.person.id, Event.status == EventStatus.PUBLISHED
            )
        )
        if next_occurrence(e, _now(ctx))
    ]


router.menu_entry("event.new", N_("Announce an event"), order=25, intents=[Intent.ORGANISATION])


@router.button("event.new")
async def new_event_button(ctx: Context, _value: str) -> None:
    await new_event(ctx)
