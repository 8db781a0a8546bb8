"""The coordinator's desk: reports and blocking, broadcasts with progress, statistics, exports,
appointing coordinators — and the audit log behind them."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from bot.app import App
from bot.demo import load_demo
from db.models import AuditEntry, Person
from tests.support import Clock, Conversation, onboard, t, tn

ORG_INTENT = "I act for an initiative or organisation"


async def test_report_block_and_unblock(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "troll", "en")
    await onboard(chat, "nice", "ar")
    await chat.say("troll", "/help", group="nachbarn")
    seen = await chat.say("nice", "/report", group="nachbarn", reply_to_user="troll")
    assert seen[0].text == t(
        "ar", "Thank you. The coordinators have been told and will look at it."
    )
    to_carla = next(s for s in seen if s.chat_id == "carla")
    assert "Troll" in to_carla.text
    assert to_carla.buttons == [t("de", "Block this person"), t("de", "Dismiss")]
    seen = await chat.press("carla", t("de", "Block this person"), chat_id="carla")
    assert seen[0].text == t(
        "de", "{name} is blocked and can no longer use the bot.", name="Troll"
    )
    seen = await chat.say("troll", "/help")
    assert seen[0].text == t(
        "en",
        "You can no longer use this bot. If you think this is a "
        "mistake, please contact the coordinators of the network.",
    )
    await chat.say("carla", "/admin")
    await chat.press("carla", t("de", "Blocked people"))
    seen = await chat.press("carla", t("de", "Unblock"))
    assert seen[0].text == t("de", "{name} can use the bot again.", name="Troll")
    assert (await chat.say("troll", "/help"))[0].text.startswith("Here is what I can do:")
    async with app.session_factory() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["person.block", "person.unblock"]


async def test_broadcast_with_preview_and_progress(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("carla", "/admin")
    await chat.press("carla", t("de", "Broadcast"))
    await chat.press("carla", t("de", "Volunteers"))
    seen = await chat.say("carla", "de: Sprachcafé fällt aus!\nar: المقهى اللغوي ملغى!")
    assert seen[0].text == "Sprachcafé fällt aus!"
    assert seen[1].text == tn(
        "de",
        "This message will go to {count} recipient. Send it?",
        "This message will go to {count} recipients. Send it?",
        30,
        count=30,
    )
    # the demo volunteers are on the terminal chat: nothing drains them here yet
    seen = await chat.press("carla", t("de", "Send"))
    assert seen[0].text == tn(
        "de", "Sending to {count} recipient.", "Sending to {count} recipients.", 30, count=30
    )
    seen = await chat.press("carla", t("de", "Show progress"))
    assert seen[0].text == t("de", "Delivered to {delivered} of {total}.", delivered=0, total=30)
    from bot.core.outbox import OutboxSender

    delivered: list[str] = []

    async def deliver(message) -> None:  # type: ignore[no-untyped-def]
        delivered.append(message.text)

    await OutboxSender(app.session_factory, "console", deliver, clock=app.services.clock).drain()
    assert len(delivered) == 30
    assert any("المقهى" in text for text in delivered)  # Arabic readers get Arabic
    assert any(text.startswith("Sprachcafé fällt aus!\n") for text in delivered)  # others:
    seen = await chat.press("carla", t("de", "Show progress"))  # the original, marked
    assert seen[0].text == t("de", "Delivered to {delivered} of {total}.", delivered=30, total=30)


async def test_statistics_and_exports(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", t("de", "Statistics"))
    assert t("de", "Volunteers: {count}", count=30) in seen[0].text
    by_language = next(
        line for line in seen[0].text.split("\n") if line.startswith("Nach Sprache")
    )
    assert "Deutsch" in by_language and " de " not in by_language + " "  # names, not codes
    seen = await chat.press("carla", t("de", "Export volunteers"))
    attachment = seen[0].message.attachment
    assert attachment is not None and attachment.filename == "lotse-volunteers.csv"
    rows = list(csv.reader(io.StringIO(attachment.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Vorname", "Stadtteil", "Postleitzahl"] and len(rows) == 31
    assert not any("console" in cell for row in rows for cell in row)  # no messenger IDs
    seen = await chat.press("carla", t("de", "Export needs"))
    assert seen[0].message.attachment is not None
    seen = await chat.press("carla", t("de", "Export organisations"))
    assert b"Jobcenter Wiesenfeld" in seen[0].message.attachment.content  # type: ignore[union-attr]
    async with app.session_factory() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions == ["export", "export", "export"]


async def test_appointing_a_coordinator(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "dana", "en", ORG_INTENT)
    seen = await chat.say("dana", "/admin")
    assert seen[0].text == "Only coordinators can do this."
    seen = await chat.say("carla", "/appoint fake:dana")
    assert "telegram:12345" in seen[0].text  # fake is not a platform name people use
    async with app.session_factory() as session:
        dana = await session.scalar(select(Person).where(Person.platform_user_id == "dana"))
        assert dana is not None
        dana.platform = "console"
        await session.commit()
    seen = await chat.say("carla", "/appoint console:dana")
    assert seen[0].text == t("de", "{name} is now a coordinator.", name="Dana")


async def test_reports_are_capped_per_person_and_hour(
    chat: Conversation, app: App, clock: Clock
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "rita", "uk")
    for number in range(5):
        seen = await chat.say("rita", f"/report Problem number {number}")
        assert seen[0].text == t(
            "uk", "Thank you. The coordinators have been told and will look at it."
        )
    reports_to_carla = len(chat.messages("carla"))
    seen = await chat.say("rita", "/report One more")
    assert seen[0].text == tn(
        "uk",
        "You have sent {count} report in the last hour. Please wait a while before "
        "sending another; the coordinators look at every report.",
        "You have sent {count} reports in the last hour. Please wait a while before "
        "sending another; the coordinators look at every report.",
        5,
        count=5,
    )
    assert len(chat.messages("carla")) == reports_to_carla  # nobody was woken
    clock.advance(minutes=61)
    seen = await chat.say("rita", "/report One more, an hour later")
    assert seen[0].text == t(
        "uk", "Thank you. The coordinators have been told and will look at it."
    )
