"""Votes for decisions (/poll for coordinators, /decisions for everyone).

A poll is answered with numbered buttons on every messenger. Per organisation, only an
organisation admin (its representative) votes, once for the whole organisation; per person,
everyone who agreed to the notice votes once. At the deadline the result is counted against
the quorum, announced to everyone asked, and written to the decision log.

    poll.question → poll.options → poll.mode → poll.deadline → poll.quorum → poll.preview
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import multilang
from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_date, format_moment, format_number, ngettext
from bot.core.ids import get_row
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Button, Reply
from db.models import (
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Person,
    Poll,
    PollVote,
)
from handlers.basics import forms
from handlers.basics.audit import audit

logger = logging.getLogger(__name__)

router = Router("polls")

QUESTION, OPTIONS, MODE, DEADLINE, QUORUM, PREVIEW = (
    "poll.question",
    "poll.options",
    "poll.mode",
    "poll.deadline",
    "poll.quorum",
    "poll.preview",
)


def option_label(option: dict[str, str]) -> str:
    return multilang.pick(option)[0]


async def voters(session: AsyncSession, poll: Poll) -> list[tuple[Person, int | None]]:
    """Who may vote: organisation admins (with their organisation), or every person."""
    if poll.per_organisation:
        rows = await session.execute(
            select(Person, OrganisationMember.organisation_id)
            .join(OrganisationMember, OrganisationMember.person_id == Person.id)
            .join(Organisation, Organisation.id == OrganisationMember.organisation_id)
            .where(
                OrganisationMember.role == "admin",
                Organisation.status == OrganisationStatus.APPROVED,
                Person.consent_version.is_not(None),
                Person.blocked_at.is_(None),
            )
        )
        seen: set[int] = set()
        result: list[tuple[Person, int | None]] = []
        for person, org_id in rows:
            if person.id not in seen:
                seen.add(person.id)
                result.append((person, org_id))
        return result
    people = await session.scalars(
        select(Person).where(Person.consent_version.is_not(None), Person.blocked_at.is_(None))
    )
    return [(person, None) for person in people]


def ballot(poll: Poll) -> Callable[[], Reply]:
    def render() -> Reply:
        lines = [_("Vote: {question}").format(question=multilang.show(poll.question))]
        lines.append(_("Voting closes on {date}.").format(date=format_moment(poll.deadline)))
        if poll.per_organisation:
            lines.append(_("One vote per organisation; its admin votes for it."))
        buttons = [
            [Button("poll.vote", option_label(o), f"{poll.id}:{i}")]
            for i, o in enumerate(poll.options)
        ]
        return make_reply("\n".join(lines), buttons)

    return render


# --- creating a poll ------------------------------------------------------------------------
async def ask_question(ctx: Context) -> None:
    """The question, optionally in several languages."""
    ctx.reply(
        _(
            "What is the question? To give it in several languages, start each language "
            "on its own line with its code (de: …, ar: …)."
        )
    )


async def on_question(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=500, minimum=5)
    if text is None:
        return QUESTION
    ctx.remember(question=multilang.parse(text, ctx.language))
    return OPTIONS


async def ask_options(ctx: Context) -> None:
    """The answers to choose from, one per line."""
    ctx.reply(_("Write the options, one per line (2 to 8 options)."))


async def on_options(ctx: Context, answer: Answer) -> str | None:
    again = _("Please write 2 to 8 different options, one per line.")
    options = forms.lines_answer(ctx, answer, most=8, limit=800, again=again)
    if options is None:
        return OPTIONS
    ctx.remember(options=[{ctx.language: o} for o in options])
    return MODE


def mode_options() -> list[forms.Option]:
    return [("person", _("One vote per person")), ("organisation", _("One vote per organisation"))]


async def ask_mode(ctx: Context) -> None:
    """Who votes?"""
    ctx.reply(_("Who votes?"), forms.choice_buttons(MODE, mode_options(), per_row=1))


async def on_mode(ctx: Context, answer: Answer) -> str | None:
    mode = forms.chosen(ctx, answer, mode_options())
    if mode is None:
        return MODE
    ctx.remember(per_organisation=mode == "organisation")
    return DEADLINE


def deadline_options() -> list[forms.Option]:
    return [("3", _("3 days")), ("7", _("1 week")), ("14", _("2 weeks"))]


async def ask_deadline(ctx: Context) -> None:
    """How long may people vote?"""
    ctx.reply(
        _("How long can people vote?"),
        forms.choice_buttons(DEADLINE, deadline_options(), per_row=3),
    )


async def on_deadline(ctx: Context, answer: Answer) -> str | None:
    days = forms.chosen(ctx, answer, deadline_options())
    if days is None:
        return DEADLINE
    ctx.remember(deadline=(ctx.services.clock() + timedelta(days=int(days))).isoformat())
    return QUORUM


async def ask_quorum(ctx: Context) -> None:
    """How many votes make the result count?"""
    ctx.reply(_("How many votes are needed for the result to count (the quorum)? Type a number."))


async def on_quorum(ctx: Context, answer: Answer) -> str | None:
    text = (answer.text or "").strip()
    if not text.isdecimal() or not 1 <= int(text) <= 100_000:
        ctx.reply(_("Please give a number from 1 to {max}.").format(max=100_000))
        return QUORUM
    ctx.remember(quorum=int(text))
    return PREVIEW


async def ask_preview(ctx: Context) -> None:
    """The ballot as voters will see it."""
    poll = Poll(
        question=ctx.data["question"],
        options=ctx.data["options"],
        per_organisation=ctx.data["per_organisation"],
        deadline=datetime.fromisoformat(ctx.data["deadline"]),
        quorum=ctx.data["quorum"],
    )
    poll.id = 0
    count = len(await voters(ctx.session, poll))
    ctx.reply(ballot(poll)().text)
    ctx.reply(
        ngettext(
            "Quorum: {quorum}. {count} person can vote. Start the vote?",
            "Quorum: {quorum}. {count} people can vote. Start the vote?",
            count,
        ).format(quorum=format_number(poll.quorum), count=format_number(count)),
        forms.preview_buttons(PREVIEW, _("Start"), editable=False),
    )


async def on_preview(ctx: Context, answer: Answer) -> str | None:
    cancelled = _("Nothing was sent.")
    step = forms.preview_answer(ctx, answer, state=PREVIEW, cancelled=cancelled)
    if step != forms.PUBLISH:
        return step
    poll = Poll(
        question=ctx.data["question"],
        options=ctx.data["options"],
        per_organisation=ctx.data["per_organisation"],
        deadline=datetime.fromisoformat(ctx.data["deadline"]),
        quorum=ctx.data["quorum"],
        created_by_person_id=ctx.person.id,
        created_at=ctx.services.clock(),
    )
    ctx.session.add(poll)
    await ctx.session.flush()
    people = await voters(ctx.session, poll)
    for person, _org in people:
        await ctx.send_to(person, ballot(poll))
    audit(ctx, "poll.start", f"poll:{poll.id}", voters=len(people))
    ctx.reply(
        ngettext(
            "The vote has started; {count} person was asked.",
            "The vote has started; {count} people were asked.",
            len(people),
        ).format(count=format_number(len(people)))
    )
    return END


CREATE = router.add_flow(
    Flow(
        name="poll",
        first=QUESTION,
        steps={
            QUESTION: Step(ask_question, on_question),
            OPTIONS: Step(ask_options, on_options),
            MODE: Step(ask_mode, on_mode),
            DEADLINE: Step(ask_deadline, on_deadline),
            QUORUM: Step(ask_quorum, on_quorum),
            PREVIEW: Step(ask_preview, on_preview),
        },
    )
)


@router.command("poll", N_("Start a vote (coordinators)"), listed=False)
async def poll_command(ctx: Context) -> None:
    await ctx.start_flow(CREATE)


# --- voting ------------------------------------------------------------------------------------
@router.button("poll.vote", once=True)
async def vote(ctx: Context, value: str) -> None:
    raw_poll, _sep, raw_option = value.partition(":")
    poll = await get_row(ctx.session, Poll, raw_poll)
    if poll is None or not raw_option.isdecimal() or int(raw_option) >= len(poll.options):
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if poll.status != "open" or poll.deadline <= ctx.services.clock():
        ctx.reply(_("This vote is already closed."))
        return
    key = f"p:{ctx.person.id}"
    if poll.per_organisation:
        org_id = await ctx.session.scalar(
            select(OrganisationMember.organisation_id)
            .join(Organisation, Organisation.id == OrganisationMember.organisation_id)
            .where(
                OrganisationMember.person_id == ctx.person.id,
                OrganisationMember.role == "admin",
                Organisation.status == OrganisationStatus.APPROVED,
            )
            .limit(1)
        )
        if org_id is None:
            ctx.reply(_("In this vote only the admins of member organisations vote."))
            return
        key = f"o:{org_id}"
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(
                PollVote(
                    poll_id=poll.id,
                    voter_key=key,
                    person_id=ctx.person.id,
                    option=int(raw_option),
                    created_at=ctx.services.clock(),
                )
            )
    except IntegrityError:
        ctx.reply(
            _("Your organisation has already voted.")
            if poll.per_organisation
            else _("You have already voted.")
        )
        return
    ctx.reply(
        _("Thank you, your vote for “{option}” is counted.").format(
            option=option_label(poll.options[int(raw_option)])
        )
    )


# --- closing and the decision log -------------------------------------------------------------
def result_text(poll: Poll) -> str:
    result = poll.result or {}
    counts = result.get("counts", [0] * len(poll.options))
    lines = [multilang.show(poll.question)]
    lines += [f"{option_label(o)}: {n}" for o, n in zip(poll.options, counts, strict=False)]
    total = sum(counts)
    if result.get("quorum_reached"):
        winners = result.get("winners", [])
        if len(winners) == 1:
            lines.append(
                _("Decision: {option}").format(option=option_label(poll.options[winners[0]]))
            )
        else:
            lines.append(_("No decision: a tie between the leading options."))
    else:
        lines.append(
            ngettext(
                "No decision: the quorum was not reached ({count} of {quorum} vote).",
                "No decision: the quorum was not reached ({count} of {quorum} votes).",
                poll.quorum,
            ).format(count=format_number(total), quorum=format_number(poll.quorum))
        )
    return "\n".join(lines)


def _result_message(poll: Poll) -> Callable[[], Reply]:
    return lambda: make_reply(_("The vote has closed.") + "\n\n" + result_text(poll))


async def close_due(session: AsyncSession, services: Services, now: datetime) -> int:
    """Count the polls whose deadline passed and announce the results."""
    due = list(
        await session.scalars(select(Poll).where(Poll.status == "open", Poll.deadline <= now))
    )
    notifier = Notifier(session, services)
    for poll in due:
        counts = [0] * len(poll.options)
        for option, n in await session.execute(
            select(PollVote.option, func.count())
            .where(PollVote.poll_id == poll.id)
            .group_by(PollVote.option)
        ):
            counts[option] = n
        best = max(counts) if counts else 0
        poll.result = {
            "counts": counts,
            "quorum_reached": sum(counts) >= poll.quorum,
            "winners": [i for i, n in enumerate(counts) if n == best and n > 0],
        }
        poll.status, poll.closed_at = "closed", now
        for person, _org in await voters(session, poll):
            await notifier.to_person(person, _result_message(poll))
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return len(due)


@router.command("decisions", N_("The decisions of the network"), in_groups=True)
async def decisions(ctx: Context) -> None:
    closed = list(
        await ctx.session.scalars(
            select(Poll).where(Poll.status == "closed").order_by(Poll.closed_at.desc()).limit(20)
        )
    )
    if not closed:
        ctx.reply(_("No votes have been decided yet."))
        return
    entries = [f"{format_date(p.closed_at or p.deadline)}\n{result_text(p)}" for p in closed]
    ctx.reply(_("Decisions of the network:") + "\n\n" + "\n\n".join(entries))


@router.job("close_polls", every=timedelta(minutes=5))
async def close_polls(services: Services) -> None:
    """Count the votes whose deadline has passed and announce the results."""
    async with services.session_factory() as session:
        closed = await close_due(session, services, services.clock())
    if closed:
        logger.info("polls: %s closed", closed)
