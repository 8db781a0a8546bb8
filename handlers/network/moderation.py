"""Reporting a message to the coordinators, blocking and unblocking people, and appointing
coordinators. Every step a coordinator takes here is written to the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_number, isolate, ngettext
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.types import Button, Reply
from db.models import Person, PersonRole, Report, Role
from handlers.basics import forms
from handlers.basics.audit import audit
from handlers.volunteering.offers import coordinators

router = Router("moderation")

PERSON_ID = re.compile(r"^(telegram|matrix|console):(\S{1,255})$")
MAX_REPORT = 1000
#: Reports wake every coordinator: one person cannot flood them (or bury someone in reports).
MAX_REPORTS_PER_HOUR = 5


def name_of(person: Person | None) -> str:
    if person is None:
        return "?"
    return person.display_name or f"{person.platform}:{person.platform_user_id}"


async def find_person(ctx: Context, text: str) -> Person | None:
    match = PERSON_ID.match(text.strip())
    if match is None:
        return None
    return await ctx.session.scalar(
        select(Person).where(
            Person.platform == match.group(1), Person.platform_user_id == match.group(2)
        )
    )


@router.command("report", N_("Report a message or a problem to the coordinators"), in_groups=True)
async def report(ctx: Context) -> None:
    """In a group: reply to the message with /report. In private: /report and what happened,
    or /report alone, and the bot asks what happened."""
    text = ctx.incoming.args
    reported = None
    if ctx.incoming.reply_to_user:
        reported = await ctx.session.scalar(
            select(Person).where(
                Person.platform == ctx.platform,
                Person.platform_user_id == ctx.incoming.reply_to_user,
            )
        )
    if not text and reported is None:
        if ctx.is_group:  # the answer would be read by the whole group
            ctx.reply(
                _(
                    "Please write what happened after /report, or reply to the message you "
                    "want to report with /report."
                )
            )
            return
        if not await _over_the_cap(ctx):
            await ctx.start_flow(REPORT)
        return
    await file_report(ctx, text, reported)


async def _over_the_cap(ctx: Context) -> bool:
    """True (after telling the person) when they already sent the hour's reports."""
    since = ctx.services.clock() - timedelta(hours=1)
    recent = await ctx.session.scalar(
        select(func.count(Report.id)).where(
            Report.reporter_person_id == ctx.person.id, Report.created_at > since
        )
    )
    if (recent or 0) < MAX_REPORTS_PER_HOUR:
        return False
    ctx.reply(
        ngettext(
            "You have sent {count} report in the last hour. Please wait a while before "
            "sending another; the coordinators look at every report.",
            "You have sent {count} reports in the last hour. Please wait a while before "
            "sending another; the coordinators look at every report.",
            recent or 0,
        ).format(count=recent)
    )
    return True


async def file_report(ctx: Context, text: str, reported: Person | None) -> None:
    """Store the report and wake every coordinator (the hourly cap permitting)."""
    if await _over_the_cap(ctx):
        return
    if len(text) > MAX_REPORT:
        ctx.reply(
            _(
                "That is too long ({count} characters). Please keep it under {limit} characters."
            ).format(count=format_number(len(text)), limit=MAX_REPORT)
        )
        return
    entry = Report(
        reporter_person_id=ctx.person.id,
        reported_person_id=reported.id if reported else None,
        text=text,
        created_at=ctx.services.clock(),
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    reporter, about = name_of(ctx.person), name_of(reported) if reported else None
    render = _report_message(entry.id, reporter, about, ctx.chat.title, text)
    for coordinator in await coordinators(ctx.session):
        await ctx.send_to(coordinator, render)
    ctx.reply(_("Thank you. The coordinators have been told and will look at it."))


async def ask_report_text(ctx: Context) -> None:
    """/report alone: what happened? (A dead end before: the person had to start again.)"""
    ctx.reply(
        _(
            "What would you like to report to the coordinators? Please describe what "
            "happened in one message, or send /cancel to stop."
        )
    )


async def on_report_text(ctx: Context, answer: Answer) -> str | None:
    """What happened, in the person's words: filed like `/report <text>`."""
    text = forms.text_answer(ctx, answer, limit=MAX_REPORT)
    if text is None:
        return REPORT_TEXT
    await file_report(ctx, text, None)
    return END


REPORT_TEXT = "report.text"
REPORT = router.add_flow(
    Flow(
        name="report",
        first=REPORT_TEXT,
        steps={REPORT_TEXT: Step(ask_report_text, on_report_text)},
    )
)


def report_buttons(report_id: int, *, about: bool, answerable: bool) -> list[Button]:
    """What a coordinator can do with an open report, on the notice and on the desk: block
    the person it is about, answer the one who sent it, or dismiss it."""
    buttons = []
    if about:
        buttons.append(Button("report.block", _("Block this person"), str(report_id)))
    if answerable:
        buttons.append(Button("report.answer", _("Answer the reporter"), str(report_id)))
    buttons.append(Button("report.dismiss", _("Dismiss"), str(report_id)))
    return buttons


def _report_message(
    report_id: int, reporter: str, about: str | None, chat: str | None, text: str
) -> Callable[[], Reply]:
    """Rendered for each coordinator in their own language."""

    def render() -> Reply:
        where = chat or _("a private chat")
        lines = [
            _("Report from {name} in {chat}:").format(name=isolate(reporter), chat=isolate(where))
        ]
        if about:
            lines.append(_("About: {name}").format(name=isolate(about)))
        if text:
            lines.append(isolate(text))
        buttons = report_buttons(report_id, about=about is not None, answerable=True)
        return make_reply("\n".join(lines), [buttons])

    return render


async def _report(ctx: Context, value: str) -> Report | None:
    entry = await get_row(ctx.session, Report, value)
    if entry is None or entry.status != "open":
        ctx.reply(_("This report was already handled."))
        return None
    return entry


@router.button("report.block", once=True, destructive=True)
async def block_from_report(ctx: Context, value: str) -> None:
    entry = await _report(ctx, value)
    if entry is None:
        return
    person = (
        await ctx.session.get(Person, entry.reported_person_id)
        if entry.reported_person_id
        else None
    )
    entry.status = "blocked"
    if person is not None:
        await block(ctx, person)


@router.button("report.dismiss", once=True, destructive=True)
async def dismiss(ctx: Context, value: str) -> None:
    entry = await _report(ctx, value)
    if entry is None:
        return
    entry.status = "dismissed"
    audit(ctx, "report.dismiss", f"report:{entry.id}")
    ctx.reply(_("The report is dismissed."))


@router.button("report.answer")
async def answer_button(ctx: Context, value: str) -> None:
    """A coordinator answers the reporter: the bot asks for the text."""
    entry = await get_row(ctx.session, Report, value)
    if entry is None or entry.reporter_person_id is None:
        ctx.reply(_("The person who sent this report can no longer be reached."))
        return
    if entry.answer is not None:
        ctx.reply(_("This report was already answered."))
        return
    await ctx.start_flow(ANSWER, report=entry.id)


async def ask_answer(ctx: Context) -> None:
    """The coordinator's answer; said up front that the reporter will not see their name."""
    ctx.reply(
        _(
            "Write your answer to the person who sent this report. It goes out from the "
            "coordinators as a team: they will not see your name. Send /cancel to stop."
        )
    )


async def on_answer(ctx: Context, answer: Answer) -> str | None:
    """Stored with the report and pushed to the reporter (through the outbox), unsigned."""
    text = forms.text_answer(ctx, answer, limit=MAX_REPORT)
    if text is None:
        return ANSWER_TEXT
    entry = await get_row(ctx.session, Report, str(ctx.data["report"]))
    reporter = (
        await ctx.session.get(Person, entry.reporter_person_id)
        if entry is not None and entry.reporter_person_id
        else None
    )
    if entry is None or reporter is None:
        ctx.reply(_("The person who sent this report can no longer be reached."))
        return END
    if entry.answer is not None:  # another coordinator was quicker
        ctx.reply(_("This report was already answered."))
        return END
    entry.answer, entry.answered_at = text, ctx.services.clock()
    if entry.status == "open" and entry.reported_person_id is None:
        entry.status = "answered"  # nobody to block: the answer settles it
    audit(ctx, "report.answer", f"report:{entry.id}")
    await ctx.send_to(reporter, _answer_message(entry.text, text))
    ctx.reply(_("Your answer is on its way. It does not show your name."))
    return END


def _answer_message(report: str, answer: str) -> Callable[[], Reply]:
    """The push to the reporter, in their language; signed by the coordinators as a team."""

    def render() -> Reply:
        lines = [_("The coordinators answer your report:"), isolate(answer)]
        if report:
            quoted = report if len(report) <= 200 else report[:199] + "…"
            lines.append(_("Your report: {text}").format(text=isolate(quoted)))
        return make_reply("\n\n".join(lines))

    return render


ANSWER_TEXT = "report_answer.text"
ANSWER = router.add_flow(
    Flow(
        name="report_answer",
        first=ANSWER_TEXT,
        steps={ANSWER_TEXT: Step(ask_answer, on_answer)},
    )
)


async def block(ctx: Context, person: Person) -> None:
    if person.has_role(Role.COORDINATOR):
        ctx.reply(_("Coordinators cannot be blocked."))
        return
    person.blocked_at = ctx.services.clock()
    audit(ctx, "person.block", f"person:{person.id}")
    ctx.reply(
        _("{name} is blocked and can no longer use the bot.").format(name=isolate(name_of(person)))
    )


@router.command("block", N_("Block a person (coordinators)"), listed=False)
async def block_command(ctx: Context) -> None:
    person = await find_person(ctx, ctx.incoming.args)
    if person is None:
        ctx.reply(
            _(
                "Please give the person's ID as shown by /mydata, for example "
                "/block telegram:12345."
            )
        )
        return
    await block(ctx, person)


@router.button("admin.unblock", once=True)
async def unblock(ctx: Context, value: str) -> None:
    person = await get_row(ctx.session, Person, value)
    if person is None or person.blocked_at is None:
        ctx.reply(_("This person is not blocked."))
        return
    person.blocked_at = None
    audit(ctx, "person.unblock", f"person:{person.id}")
    ctx.reply(_("{name} can use the bot again.").format(name=isolate(name_of(person))))


@router.command("appoint", N_("Appoint or remove a coordinator (coordinators)"), listed=False)
async def appoint(ctx: Context) -> None:
    """`/appoint telegram:12345` makes a coordinator; `/appoint remove telegram:12345` undoes."""
    args = ctx.incoming.args.split()
    remove = bool(args) and args[0].lower() == "remove"
    person = await find_person(ctx, args[-1]) if args else None
    if person is None:
        ctx.reply(
            _(
                "Please give the person's ID as shown by /mydata, for example "
                "/appoint telegram:12345 (or /appoint remove telegram:12345)."
            )
        )
        return
    if remove:
        if person.id == ctx.person.id:
            ctx.reply(_("You cannot remove yourself. Ask another coordinator."))
            return
        person.roles = [r for r in person.roles if r.role != Role.COORDINATOR]
        audit(ctx, "coordinator.remove", f"person:{person.id}")
        ctx.reply(_("{name} is no longer a coordinator.").format(name=isolate(name_of(person))))
        return
    if person.consent_version is None:
        ctx.reply(_("This person has not agreed to the privacy notice yet."))
        return
    if not person.has_role(Role.COORDINATOR):
        person.roles.append(PersonRole(role=Role.COORDINATOR, granted_at=ctx.services.clock()))
    audit(ctx, "coordinator.appoint", f"person:{person.id}")
    ctx.reply(_("{name} is now a coordinator.").format(name=isolate(name_of(person))))
    await ctx.send_to(
        person,
        lambda: make_reply(
            _("You are now a coordinator of the network. Send /admin for the coordinator's desk.")
        ),
    )
