"""Broadcasts from the coordinator's desk: audience → text → preview → sent through the outbox,
with progress ("delivered to 1,200 of 5,000").

    broadcast.audience → broadcast.text → broadcast.preview --send--> END
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core import multilang
from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_number, ngettext
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.types import Button
from db.models import (
    Broadcast,
    ChatRecord,
    OrganisationMember,
    OutboxMessage,
    OutboxStatus,
    Person,
    VolunteerProfile,
)
from handlers.basics import forms
from handlers.basics.audit import audit

router = Router("broadcast")

AUDIENCE, TEXT, PREVIEW = "broadcast.audience", "broadcast.text", "broadcast.preview"
MAX_TEXT = 3000

AUDIENCES = {
    "volunteers": N_("Volunteers"),
    "members": N_("Members of organisations"),
    "everyone": N_("Everyone"),
    "groups": N_("Linked group chats"),
}


def audience_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in AUDIENCES.items()]


def people_query(audience: str):
    query = select(Person).where(Person.consent_version.is_not(None), Person.blocked_at.is_(None))
    if audience == "volunteers":
        query = query.where(Person.id.in_(select(VolunteerProfile.person_id)))
    elif audience == "members":
        query = query.where(Person.id.in_(select(OrganisationMember.person_id)))
    return query


async def count_audience(ctx: Context, audience: str) -> int:
    if audience == "groups":
        return (
            await ctx.session.scalar(
                select(func.count())
                .select_from(ChatRecord)
                .where(
                    ChatRecord.organisation_id.is_not(None), ChatRecord.unreachable_at.is_(None)
                )
            )
            or 0
        )
    return (
        await ctx.session.scalar(
            select(func.count()).select_from(people_query(audience).subquery())
        )
        or 0
    )


async def ask_audience(ctx: Context) -> None:
    """Who should get it?"""
    ctx.reply(
        _("Who should get the message?"),
        forms.choice_buttons(AUDIENCE, audience_options(), per_row=1),
    )


async def on_audience(ctx: Context, answer: Answer) -> str | None:
    audience = forms.chosen(ctx, answer, audience_options())
    if audience is None:
        return AUDIENCE
    ctx.remember(audience=audience)
    return TEXT


async def ask_text(ctx: Context) -> None:
    """The message, optionally in several languages."""
    ctx.reply(
        _(
            "Write the message. To send it in several languages, start each language on "
            "its own line with its code, for example:\nde: Hallo!\nar: مرحبا!"
        )
    )


async def on_text(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=MAX_TEXT)
    if text is None:
        return TEXT
    ctx.remember(texts=multilang.parse(text, ctx.language))
    return PREVIEW


async def ask_preview(ctx: Context) -> None:
    """Show it as a reader of the coordinator's language sees it, with the number of readers."""
    count = await count_audience(ctx, ctx.data["audience"])
    ctx.reply(multilang.show(ctx.data["texts"]))
    ctx.reply(
        ngettext(
            "This message will go to {count} recipient. Send it?",
            "This message will go to {count} recipients. Send it?",
            count,
        ).format(count=format_number(count)),
        forms.preview_buttons(PREVIEW, _("Send"), editable=False),
    )


async def on_preview(ctx: Context, answer: Answer) -> str | None:
    cancelled = _("Nothing was sent.")
    step = forms.preview_answer(ctx, answer, state=PREVIEW, cancelled=cancelled)
    if step != forms.PUBLISH:
        return step
    await send(ctx, ctx.data["audience"], ctx.data["texts"])
    return END


async def send(ctx: Context, audience: str, texts: dict[str, str]) -> Broadcast:
    entry = Broadcast(
        created_by_person_id=ctx.person.id, audience=audience, created_at=ctx.services.clock()
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    notifier = ctx.notifier
    notifier.broadcast_id = entry.id
    before = notifier.queued

    def render():
        return make_reply(multilang.show(texts))

    if audience == "groups":
        for chat in await ctx.session.scalars(
            select(ChatRecord).where(
                ChatRecord.organisation_id.is_not(None), ChatRecord.unreachable_at.is_(None)
            )
        ):
            await notifier.to_chat(chat, render)
    else:
        for person in await ctx.session.scalars(people_query(audience)):
            await notifier.to_person(person, render)
    notifier.broadcast_id = None
    entry.total = notifier.queued - before
    audit(ctx, "broadcast.send", f"broadcast:{entry.id}", audience=audience, total=entry.total)
    ctx.reply(
        ngettext(
            "Sending to {count} recipient.", "Sending to {count} recipients.", entry.total
        ).format(count=format_number(entry.total)),
        [Button("broadcast.progress", _("Show progress"), str(entry.id))],
    )
    return entry


@router.button("broadcast.progress")
async def progress(ctx: Context, value: str) -> None:
    """ "Delivered to 1,200 of 5,000" — counted from the outbox."""
    entry = await get_row(ctx.session, Broadcast, value)
    if entry is None:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    rows = {
        status: n
        for status, n in await ctx.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.broadcast_id == entry.id)
            .group_by(OutboxMessage.status)
        )
    }
    delivered = rows.get(OutboxStatus.SENT, 0)
    failed = rows.get(OutboxStatus.FAILED, 0)
    text = _("Delivered to {delivered} of {total}.").format(
        delivered=format_number(delivered), total=format_number(entry.total)
    )
    if failed:
        text += " " + ngettext(
            "{count} recipient could not be reached.",
            "{count} recipients could not be reached.",
            failed,
        ).format(count=format_number(failed))
    ctx.reply(text, [Button("broadcast.progress", _("Show progress"), str(entry.id))])


BROADCAST = router.add_flow(
    Flow(
        name="broadcast",
        first=AUDIENCE,
        steps={
            AUDIENCE: Step(ask_audience, on_audience),
            TEXT: Step(ask_text, on_text),
            PREVIEW: Step(ask_preview, on_preview),
        },
    )
)


@router.command("broadcast", N_("Send a message to many (coordinators)"), listed=False)
async def broadcast_command(ctx: Context) -> None:
    await ctx.start_flow(BROADCAST)


@router.button("admin.broadcast")
async def broadcast_button(ctx: Context, _value: str) -> None:
    await ctx.start_flow(BROADCAST)
