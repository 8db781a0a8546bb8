"""Needs as people see them: the need card, /needs with filters and pages, deep links.

Open needs are listed most urgent first (dated ones by their date), then newest; filters for
activity, language, area and date are kept in the buttons themselves (server-side tokens), so
paging and filtering need no flow state.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import and_, func, or_, select

from bot.core import deeplinks, multilang
from bot.core.context import Context
from bot.core.i18n import (
    N_,
    _,
    format_list,
    format_moment,
    format_number,
    isolate,
    join_parts,
    localise_digits,
)
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.types import Button, Format, Reply
from db.models import NEED_LISTING_ORDER, Intent, Need, NeedStatus, Organisation
from handlers.basics import forms
from handlers.basics.taxonomy import (
    ACTIVITIES,
    SPOKEN_LANGUAGES,
    activity_label,
    day_name,
    language_label,
    language_name,
)

router = Router("needs")

PAGE_SIZE = 5
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def when_text(need: Need) -> str:
    if need.when_kind == "date" and need.starts_at is not None:
        return format_moment(need.starts_at)
    if need.when_kind == "regular" and need.weekday is not None:
        return _("every {day} at {time}").format(
            day=day_name(DAY_KEYS[need.weekday]), time=localise_digits(need.time_of_day or "")
        )
    return _("flexible, by arrangement")


def where_text(need: Need) -> str:
    return join_parts((need.place, need.district or need.postcode or "")) or "–"


#: In the /needs list a description is cut here; the whole need comes with "I can help".
LIST_DESCRIPTION_LENGTH = 240


def card(need: Need, organisation: Organisation | None, *, number: int | None = None) -> str:
    """The need as HTML: everything a volunteer needs to decide, people's text escaped.

    With a `number` it is an entry of the /needs list, and a long description is shortened.
    """
    e = html.escape
    languages = format_list([language_name(c) for c in need.languages]) or _("no special language")
    title = f"<b>{e(isolate(need.title))}</b>"
    lines = [title if number is None else f"<b>{format_number(number)}.</b> {title}"]
    if need.description:
        description = need.description
        if number is not None and len(description) > LIST_DESCRIPTION_LENGTH:
            description = description[: LIST_DESCRIPTION_LENGTH - 1].rstrip() + "…"
        lines.append(e(isolate(description)))
    marker = multilang.note(need.text_language)
    if marker:
        lines.append(e(marker))
    lines += [
        "",
        _("What: {activity}").format(activity=e(activity_label(need.activity))),
        _("Where: {place}").format(place=e(isolate(where_text(need)))),
        _("When: {when}").format(when=e(when_text(need))),
        _("Languages: {languages}").format(languages=e(languages)),
        _("Helpers: {missing} of {needed} still needed").format(
            missing=format_number(need.missing), needed=format_number(need.volunteers_needed)
        ),
    ]
    if organisation is not None:
        lines.append(
            _("Posted by: {organisation}").format(organisation=e(isolate(organisation.name)))
        )
    if need.status != NeedStatus.OPEN:
        lines.append(_("Status: {status}").format(status=e(status_label(need.status))))
    return "\n".join(lines)


STATUS_LABELS = {
    NeedStatus.PENDING_REVIEW: N_("waiting for a coordinator"),
    NeedStatus.OPEN: N_("open"),
    NeedStatus.FULL: N_("enough helpers found"),
    NeedStatus.CLOSED: N_("closed"),
    NeedStatus.EXPIRED: N_("expired"),
    NeedStatus.DECLINED: N_("not published"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[NeedStatus(status)]) if status in set(NeedStatus) else status


def card_reply(need: Need, organisation: Organisation | None, buttons: list[Button]) -> Reply:
    from bot.core.context import make_reply

    return make_reply(card(need, organisation), [[b] for b in buttons], Format.HTML)


# --- listing --------------------------------------------------------------------------------
def open_needs_query(now: datetime, filters: dict[str, str]):
    query = select(Need).where(Need.status == NeedStatus.OPEN, Need.until > now)
    if filters.get("a") in ACTIVITIES:
        query = query.where(Need.activity == filters["a"])
    if filters.get("l") in SPOKEN_LANGUAGES:
        query = query.where(Need.language_codes.like(f"%,{filters['l']},%"))
    if filters.get("d"):
        query = query.where(or_(Need.district == filters["d"], Need.postcode == filters["d"]))
    when = filters.get("t")
    today_end = now + timedelta(days=1)
    week_end = now + timedelta(days=7)
    if when == "today":
        query = query.where(
            or_(
                and_(Need.when_kind == "date", Need.starts_at < today_end),
                and_(Need.when_kind == "regular", Need.weekday == now.weekday()),
            )
        )
    elif when == "week":
        query = query.where(
            or_(
                and_(Need.when_kind == "date", Need.starts_at < week_end), Need.when_kind != "date"
            )
        )
    elif when == "later":
        query = query.where(
            or_(
                and_(Need.when_kind == "date", Need.starts_at >= week_end),
                Need.when_kind == "flexible",
            )
        )
    return query.order_by(*NEED_LISTING_ORDER)


def encode(filters: dict[str, str]) -> str:
    return urlencode({k: v for k, v in filters.items() if v})


def decode(value: str) -> dict[str, str]:
    try:
        return {k: v[:100] for k, v in parse_qsl(value[:500]) if k in ("a", "l", "d", "t", "p")}
    except ValueError:
        return {}


def filter_summary(filters: dict[str, str]) -> str:
    parts = []
    if filters.get("a") in ACTIVITIES:
        parts.append(activity_label(filters["a"]))
    if filters.get("l") in SPOKEN_LANGUAGES:
        parts.append(language_name(filters["l"]))
    if filters.get("d"):
        parts.append(isolate(filters["d"]))
    if filters.get("t") in DATE_FILTERS:
        label = DATE_FILTERS[filters["t"]]
        parts.append(_(label))
    return format_list(parts)


DATE_FILTERS = {"today": N_("today"), "week": N_("this week"), "later": N_("later")}


async def show_needs(ctx: Context, filters: dict[str, str]) -> None:
    """One message per page: the needs numbered, an "I can help" button for each, then the
    paging and filter buttons. (One message rather than one per need: a page arrives at once,
    and five needs do not push the rest of the chat out of sight.)"""
    now = ctx.services.clock()
    page = max(0, int(filters.get("p", "0")) if filters.get("p", "0").isdecimal() else 0)
    query = open_needs_query(now, filters)
    counting = query.order_by(None).with_only_columns(Need.id)
    total = await ctx.session.scalar(select(func.count()).select_from(counting.subquery())) or 0
    listed = (
        query.add_columns(Organisation)
        .outerjoin(Organisation, Organisation.id == Need.organisation_id)
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    found = (await ctx.session.execute(listed)).all()
    needs = [need for need, _organisation in found]
    organisations = {org.id: org for _need, org in found if org is not None}
    heading = (
        _("Open needs: {count}").format(count=format_number(total))
        if not filters
        else _("Open needs for {filters}: {count}").format(
            filters=filter_summary(filters), count=total
        )
    )
    if not needs:
        heading = (
            _("There are no open needs right now.")
            if not filters
            else _("No open needs match {filters}.").format(filters=filter_summary(filters))
        )
    elif total > PAGE_SIZE:
        heading += "\n" + _("Page {page} of {pages}").format(
            page=format_number(page + 1),
            pages=format_number((total + PAGE_SIZE - 1) // PAGE_SIZE),
        )
    first = page * PAGE_SIZE + 1
    entries = [
        card(need, organisations.get(need.organisation_id or 0), number=number)
        for number, need in enumerate(needs, first)
    ]
    help_label = _("I can help with no. {number}")
    rows: list[list[Button]] = [
        [Button("need.help", help_label.format(number=format_number(number)), str(need.id))]
        for number, need in enumerate(needs, first)
    ]
    base = {k: v for k, v in filters.items() if k != "p"}
    paging = []
    if page > 0:
        paging.append(Button("needs.list", _("Previous"), encode({**base, "p": str(page - 1)})))
    if (page + 1) * PAGE_SIZE < total:
        paging.append(Button("needs.list", _("Next"), encode({**base, "p": str(page + 1)})))
    filter_buttons = [
        Button("needs.filter", _("Activity"), encode({**base, "f": "a"})),
        Button("needs.filter", _("Language"), encode({**base, "f": "l"})),
        Button("needs.filter", _("Area"), encode({**base, "f": "d"})),
        Button("needs.filter", _("Date"), encode({**base, "f": "t"})),
    ]
    if paging:
        rows.append(paging)
    rows += forms.rows(filter_buttons, 4)
    if base:
        rows.append([Button("needs.list", _("Clear filters"), "")])
    text = "\n\n".join([html.escape(heading), *entries])
    ctx.reply(text, rows, format=Format.HTML)


def _pending(ctx: Context, reply: Reply):
    from bot.core.context import PendingReply

    return PendingReply(reply, ctx.person.id)


@router.command("needs", N_("Find needs where volunteers are wanted"))
async def needs_command(ctx: Context) -> None:
    await show_needs(ctx, {})


@router.button("needs.list")
async def needs_list(ctx: Context, value: str) -> None:
    """Another page, or the list with other filters: shown in place of the one pressed."""
    ctx.show_in_place()
    await show_needs(ctx, decode(value))


@router.button("needs.filter")
async def needs_filter(ctx: Context, value: str) -> None:
    """Offer the values of one filter; each leads back to the list with it applied."""
    raw = dict(parse_qsl(value[:500]))
    field = raw.pop("f", "")
    base = {k: v for k, v in decode(encode(raw)).items() if k != "p"}
    if field == "a":
        options = [(k, _(label)) for k, label in ACTIVITIES.items()]
        question = _("Which activity?")
    elif field == "l":
        options = [(code, language_label(code)) for code in SPOKEN_LANGUAGES]
        question = _("Which language?")
    elif field == "d":
        options = [(d, d) for d in ctx.settings.districts]
        question = _("Which area?")
    elif field == "t":
        options = [(k, _(label)) for k, label in DATE_FILTERS.items()]
        question = _("When?")
    else:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    buttons = [Button("needs.list", label, encode({**base, field: key})) for key, label in options]
    ctx.show_in_place()
    ctx.reply(question, forms.rows(buttons, 2))


#: Needs a link never shows: not yet reviewed, or refused by a coordinator.
UNLISTED = (NeedStatus.PENDING_REVIEW, NeedStatus.DECLINED)


@router.deep_link("need")
async def need_link(ctx: Context, argument: str) -> None:
    """A link to one need (shared in a group or a newsletter)."""
    need = await get_row(ctx.session, Need, argument)
    if need is None or need.status in UNLISTED:
        ctx.reply(_("This need does not exist (any more)."))
        return
    organisation = (
        await ctx.session.get(Organisation, need.organisation_id) if need.organisation_id else None
    )
    buttons = (
        [Button("need.help", _("I can help"), str(need.id))]
        if need.status == NeedStatus.OPEN
        else []
    )
    ctx.replies.append(_pending(ctx, card_reply(need, organisation, buttons)))


def need_link_text(ctx: Context, need: Need) -> str | None:
    return ctx.services.deep_link(ctx.platform, deeplinks.payload("need", need.id))


router.menu_entry("needs.list", N_("Find needs"), order=20, intents=[Intent.VOLUNTEER])
