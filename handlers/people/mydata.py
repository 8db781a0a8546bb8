"""Data protection self-service: /mydata (everything stored, as JSON and in words), /delete
(erase the person everywhere, keeping what they authored only anonymised), and the retention
job that reminds inactive people and then deletes them.

What /mydata contains is in `handlers/people/mydata_export.py`; what /delete (and the retention
deletion) removes is `handlers.people.forget.forget`, the one path for forgetting a person."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context, make_reply
from bot.core.i18n import N_, _, format_date, format_list, format_number
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Attachment, Button, Reply
from db.models import Person
from handlers.basics.taxonomy import language_name, role_label
from handlers.people.forget import forget
from handlers.people.mydata_export import collect

__all__ = ["collect", "forget", "retention", "router", "summary"]

logger = logging.getLogger(__name__)

router = Router("mydata")


def summary(data: dict[str, Any]) -> str:
    """The same in words, for reading in the chat."""
    p = data["person"]
    lines = [
        _("This is what I have stored about you:"),
        "",
        _("Your ID: {platform}:{id}").format(platform=p["platform"], id=p["platform_user_id"]),
    ]
    if p["language"]:
        lines.append(_("Language: {language}").format(language=language_name(p["language"])))
    if p["roles"]:
        roles = format_list(role_label(role) for role in p["roles"])
        lines.append(_("Roles: {roles}").format(roles=roles))
    if p["consent_at"]:
        lines.append(
            _("Consent given on {date} (notice version {version}).").format(
                date=format_date(datetime.fromisoformat(p["consent_at"])),
                version=p["consent_version"],
            )
        )
    if p["blocked_at"]:
        lines.append(
            _("Blocked since {date}.").format(
                date=format_date(datetime.fromisoformat(p["blocked_at"]))
            )
        )
    if p["deleted_if_inactive_until"]:
        lines.append(
            _("If you do not use the bot until {date}, I will delete your data.").format(
                date=format_date(datetime.fromisoformat(p["deleted_if_inactive_until"]))
            )
        )
    counts = [
        (_("Volunteer profile"), 1 if "volunteer_profile" in data else 0),
        (_("Organisations"), len(data["organisations"])),
        (_("Needs you posted"), len(data["needs_posted"])),
        (_("Offers to you"), len(data["offers"])),
        (_("Questions to the team"), len(data["questions_to_the_team"])),
        (_("Events you signed up for"), len(data["event_attendance"])),
        (_("Poll votes"), len(data["poll_votes"])),
        (_("Survey answers"), len(data["survey_answers"]) + len(data["survey_drafts"])),
        (_("Reports you made"), len(data["reports_made"])),
        (_("Reports about you"), len(data["reports_about_you"])),
    ]
    lines += [f"{label}: {format_number(count)}" for label, count in counts]
    lines += ["", _("The attached file contains all of it. To delete everything, send /delete.")]
    return "\n".join(lines)


@router.command(
    "mydata", N_("See everything stored about you"), needs_consent=False, for_blocked=True
)
async def mydata(ctx: Context) -> None:
    data = await collect(ctx.session, ctx.person, ctx.settings.retention_days)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    ctx.reply(
        summary(data), attachment=Attachment("lotse-my-data.json", content, "application/json")
    )


@router.command("delete", N_("Delete all your data"), needs_consent=False, for_blocked=True)
async def delete_command(ctx: Context) -> None:
    ctx.reply(
        _(
            "Do you want me to delete everything I have stored about you? Needs you posted "
            "stay visible without your name; offers you accepted are withdrawn. This "
            "cannot be undone."
        ),
        [
            Button("privacy.delete", _("Yes, delete everything"), "confirm"),
            Button("privacy.keep", _("No, keep my data")),
        ],
    )


@router.button("privacy.delete", needs_consent=False, once=True, for_blocked=True)
async def delete_button(ctx: Context, value: str) -> None:
    if value != "confirm":
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    await forget(ctx.notifier, ctx.person)
    ctx.reply(
        _(
            "Everything I had stored about you is deleted. If you write to me again, I "
            "will start fresh. Goodbye, and all the best!"
        )
    )


@router.button("privacy.keep", needs_consent=False, for_blocked=True)
async def keep_button(ctx: Context, _value: str) -> None:
    ctx.person.retention_notified_at = None
    ctx.reply(_("Good, your data stays. Nothing has been deleted."))


def _reminder(deadline: datetime) -> Callable[[], Reply]:
    def render() -> Reply:
        return make_reply(
            _(
                "You have not used this bot for a long time. To protect your privacy I will "
                "delete your data on {date}. Tap the button or write to me if you want to keep "
                "it."
            ).format(date=format_date(deadline)),
            [Button("privacy.keep", _("Keep my data"))],
        )

    return render


async def retention(session: AsyncSession, services: Services, now: datetime) -> tuple[int, int]:
    """Remind people inactive for the retention period; delete those who stay silent."""
    settings = services.settings
    inactive_since = now - timedelta(days=settings.retention_days)
    grace = timedelta(days=settings.retention_grace_days)
    notifier = Notifier(session, services)
    to_remind = list(
        await session.scalars(
            select(Person).where(
                Person.last_seen_at < inactive_since, Person.retention_notified_at.is_(None)
            )
        )
    )
    for person in to_remind:
        person.retention_notified_at = now
        await notifier.to_person(person, _reminder(now + grace))
    to_delete = list(
        await session.scalars(
            select(Person).where(
                Person.retention_notified_at < now - grace,
                Person.last_seen_at < Person.retention_notified_at,
            )
        )
    )
    for person in to_delete:
        await forget(notifier, person)
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return len(to_remind), len(to_delete)


@router.job("privacy_retention", daily_at=(3, 41))
async def privacy_retention(services: Services) -> None:
    """Remind people inactive for the retention period, then delete those who stay away."""
    async with services.session_factory() as session:
        reminded, deleted = await retention(session, services, services.clock())
    if reminded or deleted:
        logger.info("retention: %s reminded, %s deleted", reminded, deleted)
