"""Posting a need (/need), in a private chat or in a group linked to an organisation.

The flow asks only for what is still missing — a one-line `/need …` fills what it can — and
ends with a preview. Someone in several approved organisations is first asked for which one
(`handlers.organisations.posting_for`); in a linked group it is that group's organisation.
Members of
approved organisations (and coordinators) publish at once and matching starts; everyone else's
need waits for a coordinator.

    (need.organisation →) need.title → need.description → need.activity → need.languages
    → need.area → need.place → need.when (→ need.date | need.weekday → need.time)
    → need.count → need.until
    → need.preview  --publish-->  END      need.preview --change--> need.edit → (that field)
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.core.context import Context
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_number, ngettext
from bot.core.router import Router
from bot.core.types import Button, Format
from db.models import (
    Intent,
    Need,
    NeedStatus,
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Role,
)
from handlers.basics import forms
from handlers.basics.taxonomy import ACTIVITIES, SPOKEN_LANGUAGES, day_name, language_label
from handlers.organisations import posting_for
from handlers.volunteering.need_parser import next_weekday, parse_date, parse_line, parse_time
from handlers.volunteering.needs import DAY_KEYS, card

router = Router("need_post")

TITLE, DESCRIPTION, ACTIVITY, LANGUAGES = (
    "need.title",
    "need.description",
    "need.activity",
    "need.languages",
)
AREA, PLACE, WHEN, DATE = "need.area", "need.place", "need.when", "need.date"
WEEKDAY, TIME, COUNT, UNTIL = "need.weekday", "need.time", "need.count", "need.until"
PREVIEW, EDIT = "need.preview", "need.edit"
ORGANISATION = "need.organisation"

MAX_TITLE, MAX_DESCRIPTION, MAX_PLACE, MAX_COUNT = 120, 1000, 200, 50


def next_missing(data: dict[str, Any]) -> str:
    """The first question still open; the preview when everything is known."""
    for key, state in (
        (posting_for.KEY, ORGANISATION),
        ("title", TITLE),
        ("description", DESCRIPTION),
        ("activity", ACTIVITY),
        ("languages", LANGUAGES),
        ("area_set", AREA),
        ("place", PLACE),
        ("when_kind", WHEN),
    ):
        if key not in data:
            return state
    if data["when_kind"] == "date" and "starts_at" not in data:
        return DATE
    if data["when_kind"] == "regular":
        if "weekday" not in data:
            return WEEKDAY
        if "time" not in data:
            return TIME
    if "count" not in data:
        return COUNT
    if "until" not in data:
        return UNTIL
    return PREVIEW


def _tz(ctx: Context):
    return ctx.settings.tz


def _now(ctx: Context) -> datetime:
    return ctx.services.clock()


def _skip_button(state: str) -> list[Button]:
    return [Button(state, _("Skip"), forms.SKIP)]


# --- steps ------------------------------------------------------------------------------------
async def ask_title(ctx: Context) -> None:
    """What is needed, in a few words?"""
    ctx.reply(_("What is needed, in a few words? For example: Accompaniment to the job centre"))


async def on_title(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=MAX_TITLE, minimum=3)
    if text is None:
        return TITLE
    ctx.remember(title=text)
    return next_missing(ctx.data)


async def ask_description(ctx: Context) -> None:
    """A few sentences about the task (optional)."""
    ctx.reply(
        _(
            "Describe the task in a few sentences: what will the volunteer do, and what "
            "should they know? (Or skip.)"
        ),
        _skip_button(DESCRIPTION),
    )


async def on_description(ctx: Context, answer: Answer) -> str | None:
    if answer.value == forms.SKIP:
        ctx.remember(description="")
        return next_missing(ctx.data)
    text = forms.text_answer(ctx, answer, limit=MAX_DESCRIPTION)
    if text is None:
        return DESCRIPTION
    ctx.remember(description=text)
    return next_missing(ctx.data)


def activity_options() -> list[forms.Option]:
    return [(key, _(label)) for key, label in ACTIVITIES.items()]


async def ask_activity(ctx: Context) -> None:
    """Which kind of help?"""
    ctx.reply(
        _("Which kind of help is it?"),
        forms.choice_buttons(ACTIVITY, activity_options(), per_row=1),
    )


async def on_activity(ctx: Context, answer: Answer) -> str | None:
    activity = forms.chosen(ctx, answer, activity_options())
    if activity is None:
        return ACTIVITY
    ctx.remember(activity=activity)
    return next_missing(ctx.data)


def language_options() -> list[forms.Option]:
    return [(code, language_label(code)) for code in SPOKEN_LANGUAGES]


async def ask_languages(ctx: Context) -> None:
    """Which languages must the volunteer speak? (none, one or several)"""
    selected = ctx.data.get("chosen_languages", [])
    ctx.reply(
        _(
            "Which languages should the volunteer speak? Choose, then press Done. "
            "Press Done right away if no special language is needed."
        ),
        forms.multi_buttons(LANGUAGES, language_options(), selected, per_row=3),
    )


async def on_languages(ctx: Context, answer: Answer) -> str | None:
    done = forms.multi_choice(ctx, "chosen_languages", answer, language_options(), minimum=0)
    if done is None:
        ctx.reply(_("I do not know that language. Please choose from the list."))
        return LANGUAGES
    if not done:
        return LANGUAGES
    ctx.remember(languages=ctx.data.get("chosen_languages", []))
    return next_missing(ctx.data)


async def ask_area(ctx: Context) -> None:
    """Which district (or postcode)?"""
    ctx.reply(
        _("In which part of the city? Choose the district, or type the postcode (5 digits)."),
        forms.area_buttons(ctx, AREA),
    )


async def on_area(ctx: Context, answer: Answer) -> str | None:
    area = forms.area_answer(ctx, answer)
    if area is None:
        return AREA
    ctx.remember(area_set=True, district=area.district, postcode=area.postcode)
    return next_missing(ctx.data)


async def ask_place(ctx: Context) -> None:
    """The address or meeting point (optional)."""
    ctx.reply(_("Where exactly? An address or meeting point. (Or skip.)"), _skip_button(PLACE))


async def on_place(ctx: Context, answer: Answer) -> str | None:
    if answer.value == forms.SKIP:
        ctx.remember(place="")
        return next_missing(ctx.data)
    text = forms.text_answer(ctx, answer, limit=MAX_PLACE)
    if text is None:
        return PLACE
    ctx.remember(place=text)
    return next_missing(ctx.data)


def when_options() -> list[forms.Option]:
    return [
        ("date", _("On a date")),
        ("regular", _("Every week")),
        ("flexible", _("Flexible, by arrangement")),
    ]


async def ask_when(ctx: Context) -> None:
    """On a date, every week, or flexible?"""
    ctx.reply(_("When is help needed?"), forms.choice_buttons(WHEN, when_options(), per_row=1))


async def on_when(ctx: Context, answer: Answer) -> str | None:
    kind = forms.single_choice(answer, when_options())
    if kind is None and answer.text:  # typed straight away: "Di 10:00" or "12.12. 14:00"
        return await on_date(ctx, answer)
    if kind is None:
        ctx.reply(_("Please choose one of the options below."))
        return WHEN
    ctx.remember(when_kind=kind)
    return next_missing(ctx.data)


def _moment(ctx: Context, text: str) -> datetime | str:
    """A typed date and time → an aware datetime, or an error message."""
    tz = _tz(ctx)
    today = _now(ctx).astimezone(tz).date()
    parsed = parse_line(text, today)
    at = parsed.at
    if parsed.on_date is None and parsed.weekday is None:
        return _("Please give a date and time, for example 12.12. 10:00 or Tue 10:00.")
    if at is None:
        return _("Please add a time, for example 10:00.")
    if parsed.on_date is not None:
        moment = datetime.combine(parsed.on_date, at, tzinfo=tz)
    else:
        assert parsed.weekday is not None
        moment = next_weekday(_now(ctx), parsed.weekday, at, tz)
    if moment <= _now(ctx):
        return _("That date is in the past. Please give a date from today on.")
    if moment > _now(ctx) + timedelta(days=366):
        return _("That is more than a year ahead. Please give a nearer date.")
    return moment


async def ask_date(ctx: Context) -> None:
    """Which date and time?"""
    ctx.reply(_("Which date and time? For example 12.12. 10:00 or Tue 10:00."))


async def on_date(ctx: Context, answer: Answer) -> str | None:
    moment = _moment(ctx, answer.text or "")
    if isinstance(moment, str):
        ctx.reply(moment)
        return DATE
    ctx.remember(when_kind="date", starts_at=moment.astimezone(UTC).isoformat())
    if "until" not in ctx.data or ctx.data.get("until_auto"):
        end = datetime.combine(moment.date(), time(23, 59), tzinfo=_tz(ctx))
        ctx.remember(until=end.astimezone(UTC).isoformat(), until_auto=True)
    return next_missing(ctx.data)


def weekday_options() -> list[forms.Option]:
    return [(str(i), day_name(day)) for i, day in enumerate(DAY_KEYS)]


async def ask_weekday(ctx: Context) -> None:
    """Which day of the week?"""
    ctx.reply(
        _("On which day of the week?"), forms.choice_buttons(WEEKDAY, weekday_options(), per_row=4)
    )


async def on_weekday(ctx: Context, answer: Answer) -> str | None:
    day = forms.chosen(ctx, answer, weekday_options())
    if day is None:
        return WEEKDAY
    ctx.remember(weekday=int(day))
    return next_missing(ctx.data)


async def ask_time(ctx: Context) -> None:
    """At what time?"""
    ctx.reply(_("At what time? For example 16:00."))


async def on_time(ctx: Context, answer: Answer) -> str | None:
    at = parse_time(answer.text or "")
    if at is None:
        ctx.reply(_("Please give a time like 16:00."))
        return TIME
    ctx.remember(time=at.strftime("%H:%M"))
    return next_missing(ctx.data)


def count_options() -> list[forms.Option]:
    return [(str(n), str(n)) for n in (1, 2, 3, 4, 5)]


async def ask_count(ctx: Context) -> None:
    """How many volunteers?"""
    ctx.reply(
        _("How many volunteers are needed? Choose or type a number."),
        forms.choice_buttons(COUNT, count_options(), per_row=5),
    )


async def on_count(ctx: Context, answer: Answer) -> str | None:
    text = (answer.value or answer.text or "").strip()
    if not text.isdecimal() or not 1 <= int(text) <= MAX_COUNT:
        ctx.reply(_("Please give a number from 1 to {max}.").format(max=MAX_COUNT))
        return COUNT
    ctx.remember(count=int(text))
    return next_missing(ctx.data)


def until_options() -> list[forms.Option]:
    return [("14", _("2 weeks")), ("30", _("1 month")), ("90", _("3 months"))]


async def ask_until(ctx: Context) -> None:
    """Until when is help wanted?"""
    ctx.reply(
        _("Until when should the need be shown? Choose, or type a date like 31.12."),
        forms.choice_buttons(UNTIL, until_options(), per_row=3),
    )


async def on_until(ctx: Context, answer: Answer) -> str | None:
    tz = _tz(ctx)
    now = _now(ctx)
    if answer.is_button and answer.value in dict(until_options()):
        end = now + timedelta(days=int(answer.value or 14))
    else:
        day = parse_date(answer.text or "", now.astimezone(tz).date())
        if day is None:
            ctx.reply(_("Please choose one of the options, or type a date like 31.12."))
            return UNTIL
        end = datetime.combine(day, time(23, 59), tzinfo=tz)
    if end <= now:
        ctx.reply(_("That date is in the past. Please give a date from today on."))
        return UNTIL
    starts = ctx.data.get("starts_at")
    if starts and end < datetime.fromisoformat(starts):
        ctx.reply(_("The end date must not be before the date of the need."))
        return UNTIL
    ctx.remember(until=end.astimezone(UTC).isoformat(), until_auto=False)
    return next_missing(ctx.data)


def need_from_data(data: dict[str, Any], text_language: str | None = None) -> Need:
    """The need as the poster described it; their language marks its text for other readers."""
    need = Need(
        text_language=text_language,
        title=data["title"],
        description=data.get("description", ""),
        activity=data["activity"],
        district=data.get("district"),
        postcode=data.get("postcode"),
        place=data.get("place", ""),
        when_kind=data["when_kind"],
        volunteers_needed=int(data["count"]),
        until=datetime.fromisoformat(data["until"]),
        organisation_id=data.get("org_id"),
        helpers_count=0,
        status=NeedStatus.PENDING_REVIEW,
    )
    need.languages = list(data.get("languages", []))
    if data["when_kind"] == "date":
        need.starts_at = datetime.fromisoformat(data["starts_at"])
    elif data["when_kind"] == "regular":
        need.weekday, need.time_of_day = int(data["weekday"]), data["time"]
    return need


async def ask_preview(ctx: Context) -> None:
    """Show the need as volunteers will see it."""
    need = need_from_data(ctx.data, ctx.language)
    need.status = NeedStatus.OPEN
    organisation = (
        await ctx.session.get(Organisation, ctx.data["org_id"]) if ctx.data.get("org_id") else None
    )
    from bot.core.context import PendingReply, make_reply

    ctx.reply(_("This is how volunteers will see your need:"))
    ctx.replies.append(
        PendingReply(make_reply(card(need, organisation), (), Format.HTML), ctx.person.id)
    )
    ctx.reply(_("Publish it?"), forms.preview_buttons(PREVIEW, _("Publish")))


async def on_preview(ctx: Context, answer: Answer) -> str | None:
    cancelled = _("The need was not published.")
    step = forms.preview_answer(ctx, answer, state=PREVIEW, edit=EDIT, cancelled=cancelled)
    if step != forms.PUBLISH:
        return step
    await publish_from_flow(ctx)
    return END


EDITABLE = {
    "title": N_("Title"),
    "description": N_("Description"),
    "activity": N_("Kind of help"),
    "languages": N_("Languages"),
    "area": N_("Area"),
    "place": N_("Place"),
    "when": N_("Date and time"),
    "count": N_("Number of volunteers"),
    "until": N_("Shown until"),
}
EDIT_KEYS = {
    "organisation": (posting_for.KEY,),
    "title": ("title",),
    "description": ("description",),
    "activity": ("activity",),
    "languages": ("languages",),
    "area": ("area_set", "district", "postcode"),
    "place": ("place",),
    "when": ("when_kind", "starts_at", "weekday", "time"),
    "count": ("count",),
    "until": ("until",),
}


async def ask_edit(ctx: Context) -> None:
    """Which part to change?"""
    forms.ask_which_field(ctx, EDIT, posting_for.editable(ctx.data, EDITABLE))


async def on_edit(ctx: Context, answer: Answer) -> str | None:
    key = forms.which_field(ctx, answer, posting_for.editable(ctx.data, EDITABLE))
    if key is None:
        return EDIT
    ctx.forget(*EDIT_KEYS[key])
    if key == "when" and ctx.data.get("until_auto"):
        ctx.forget("until")
    return next_missing(ctx.data)


NEED_FLOW = router.add_flow(
    Flow(
        name="need",
        first=TITLE,
        steps={
            ORGANISATION: posting_for.step(ORGANISATION, next_missing),
            TITLE: Step(ask_title, on_title),
            DESCRIPTION: Step(ask_description, on_description),
            ACTIVITY: Step(ask_activity, on_activity),
            LANGUAGES: Step(ask_languages, on_languages),
            AREA: Step(ask_area, on_area),
            PLACE: Step(ask_place, on_place),
            WHEN: Step(ask_when, on_when),
            DATE: Step(ask_date, on_date),
            WEEKDAY: Step(ask_weekday, on_weekday),
            TIME: Step(ask_time, on_time),
            COUNT: Step(ask_count, on_count),
            UNTIL: Step(ask_until, on_until),
            PREVIEW: Step(ask_preview, on_preview),
            EDIT: Step(ask_edit, on_edit),
        },
    )
)


# --- who may publish ----------------------------------------------------------------------------
async def is_member(ctx: Context, organisation_id: int) -> bool:
    return (
        await ctx.session.scalar(
            select(OrganisationMember.id).where(
                OrganisationMember.organisation_id == organisation_id,
                OrganisationMember.person_id == ctx.person.id,
            )
        )
        is not None
    )


async def publish_from_flow(ctx: Context) -> None:
    from handlers.volunteering.offers import notify_coordinators_of_need, publish

    need = need_from_data(ctx.data, ctx.language)
    need.poster_person_id = ctx.person.id
    need.created_at = _now(ctx)
    ctx.session.add(need)
    organisation = (
        await ctx.session.get(Organisation, need.organisation_id) if need.organisation_id else None
    )
    trusted = ctx.person.has_role(Role.COORDINATOR) or (
        organisation is not None
        and organisation.status == OrganisationStatus.APPROVED
        and await is_member(ctx, organisation.id)
    )
    await ctx.session.flush()
    if trusted:
        asked = await publish(ctx.notifier, ctx.services, need, _now(ctx))
        ctx.reply(
            ngettext(
                "Published! I am asking {count} volunteer who fits.",
                "Published! I am asking {count} volunteers who fit.",
                asked,
            ).format(count=format_number(asked))
            if asked
            else _(
                "Published! Nobody fits right now; I will keep looking and ask new "
                "volunteers as they sign up."
            )
        )
        from handlers.volunteering.needs import need_link_text

        link = need_link_text(ctx, need)
        if link:
            ctx.reply(_("Share this need with this link: {link}").format(link=link))
    else:
        await notify_coordinators_of_need(
            ctx.notifier, ctx.services, need, not_a_member=bool(ctx.data.get("not_a_member"))
        )
        ctx.reply(
            _(
                "Thank you! A coordinator will check your need before it is published. "
                "I will let you know."
            )
        )


@router.command("need", N_("Post a need: where volunteers are wanted"), in_groups=True)
async def need_command(ctx: Context) -> None:
    """Start the need flow; a one-line description fills in what it can."""
    data: dict[str, Any] = {}
    if ctx.is_group:
        if ctx.chat.organisation_id is None:
            ctx.reply(
                _(
                    "This group is not linked to an organisation yet. A group admin can "
                    "link it with /linkgroup."
                )
            )
            return
        # The group's organisation is the default here: nothing to ask.
        group_org = ctx.chat.organisation_id
        data["org_id"] = group_org
        if not ctx.person.has_role(Role.COORDINATOR) and not await is_member(ctx, group_org):
            # Anyone in the group may ask for help, but only members speak for the
            # organisation: the need goes to review without its name, marked as such.
            data.update(org_id=None, not_a_member=True)
    else:
        data.update(await posting_for.start_data(ctx))
    if ctx.incoming.args:
        data.update(prefill(ctx, ctx.incoming.args))
    await ctx.start_flow(NEED_FLOW, at=next_missing(data), **data)


def prefill(ctx: Context, line: str) -> dict[str, Any]:
    """What a one-line `/need …` already tells us."""
    if len(line) > 300:
        return {}
    tz = _tz(ctx)
    now = _now(ctx)
    parsed = parse_line(line, now.astimezone(tz).date())
    data: dict[str, Any] = {}
    if parsed.title:
        data["title"] = parsed.title
    if parsed.activity:
        data["activity"] = parsed.activity
    if parsed.languages:
        data["languages"] = data["chosen_languages"] = parsed.languages
    if parsed.count and 1 <= parsed.count <= MAX_COUNT:
        data["count"] = parsed.count
    if parsed.at is not None and (parsed.on_date or parsed.weekday is not None):
        if parsed.on_date is not None:
            moment = datetime.combine(parsed.on_date, parsed.at, tzinfo=tz)
        else:
            assert parsed.weekday is not None
            moment = next_weekday(now, parsed.weekday, parsed.at, tz)
        if moment > now:
            data["when_kind"] = "date"
            data["starts_at"] = moment.astimezone(UTC).isoformat()
            end = datetime.combine(moment.date(), time(23, 59), tzinfo=tz)
            data["until"] = end.astimezone(UTC).isoformat()
            data["until_auto"] = True
    return data


@router.button("need.new")
async def need_button(ctx: Context, _value: str) -> None:
    await need_command(ctx)


router.menu_entry("need.new", N_("Post a need"), order=20, intents=[Intent.ORGANISATION])
