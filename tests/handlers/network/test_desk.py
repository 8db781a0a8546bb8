"""The coordinator's desk: reports and blocking, broadcasts with progress, statistics, exports,
appointing coordinators — and the audit log behind them."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from bot.app import App
from db.models import AuditEntry, Person, Report
from lotse.demo import load_demo
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
    assert to_carla.buttons == [
        t("de", "Block this person"),
        t("de", "Answer the reporter"),
        t("de", "Dismiss"),
    ]
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


ASK_REPORT = (
    "What would you like to report to the coordinators? Please describe what happened in one "
    "message, or send /cancel to stop."
)
ASK_ANSWER = (
    "Write your answer to the person who sent this report. It goes out from the coordinators "
    "as a team: they will not see your name. Send /cancel to stop."
)


async def test_report_alone_asks_what_happened_and_files_the_answer(
    chat: Conversation, app: App
) -> None:
    """Rita types /report and nothing else: she is asked, writes what happened, and Carla
    gets the notice — with a way to answer her, not only to dismiss."""
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "rita", "uk")
    seen = await chat.say("rita", "/report")
    assert [s.text for s in seen] == [t("uk", ASK_REPORT)]
    assert not [s for s in seen if s.chat_id == "carla"]  # nothing is filed yet
    seen = await chat.say("rita", "Someone in the Südstadt group asks people for money.")
    assert seen[0].text == t(
        "uk", "Thank you. The coordinators have been told and will look at it."
    )
    to_carla = [s for s in seen if s.chat_id == "carla"]
    assert len(to_carla) == 1
    assert "Someone in the Südstadt group asks people for money." in to_carla[0].text
    assert to_carla[0].buttons == [t("de", "Answer the reporter"), t("de", "Dismiss")]
    seen = await chat.say("rita", "and one more thing")  # the form is over: not a report
    assert not [s for s in seen if s.chat_id == "carla"]


async def test_report_alone_can_be_cancelled_and_respects_the_hourly_cap(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "rita", "uk")
    await chat.say("rita", "/report")
    seen = await chat.say("rita", "/cancel")
    assert seen[0].text == t(
        "uk", "Cancelled. Send /menu for the main menu or /help for all commands."
    )
    async with app.session_factory() as session:
        assert await session.scalar(select(func.count(Report.id))) == 0
    for number in range(5):
        await chat.say("rita", f"/report Problem number {number}")
    seen = await chat.say("rita", "/report")  # capped: not asked for a text she cannot send
    assert seen[0].text == tn(
        "uk",
        "You have sent {count} report in the last hour. Please wait a while before "
        "sending another; the coordinators look at every report.",
        "You have sent {count} reports in the last hour. Please wait a while before "
        "sending another; the coordinators look at every report.",
        5,
        count=5,
    )
    assert len(seen) == 1


async def test_a_coordinator_answers_the_reporter_without_giving_their_name(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "rita", "ar")
    await chat.say("rita", "/report")
    await chat.say("rita", "The bot sent me an offer for a need that was already filled.")
    before = len(chat.messages("rita"))
    seen = await chat.press("carla", t("de", "Answer the reporter"), chat_id="carla")
    assert [s.text for s in seen] == [t("de", ASK_ANSWER)]
    seen = await chat.say("carla", "Danke! Wir haben den Aufruf geschlossen.")
    assert seen[0].chat_id == "carla"
    assert seen[0].text == t("de", "Your answer is on its way. It does not show your name.")
    to_rita = chat.messages("rita")[before:]
    assert len(to_rita) == 1  # exactly once
    answer = to_rita[0].text
    assert answer.startswith(t("ar", "The coordinators answer your report:"))
    assert "Danke! Wir haben den Aufruf geschlossen." in answer
    assert "Carla" not in answer and "carla" not in answer
    seen = await chat.press("carla", t("de", "Answer the reporter"), chat_id="carla")
    assert seen[0].text == t("de", "This report was already answered.")
    assert len(chat.messages("rita")) == before + 1  # still exactly once
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", t("de", "Waiting for decisions"))
    assert not any("already filled" in s.text for s in seen)  # answered: off the desk
    async with app.session_factory() as session:
        entry = await session.scalar(select(Report))
        assert entry is not None
        assert entry.answer == "Danke! Wir haben den Aufruf geschlossen."
        assert entry.status == "answered"
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions == ["report.answer"]  # who answered is known to the coordinators only


async def test_a_report_about_someone_can_be_answered_and_still_blocked(
    chat: Conversation, app: App
) -> None:
    """The reported person never learns who reported them; the reporter hears back, and the
    report stays on the desk until someone blocks or dismisses."""
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "troll", "en")
    await onboard(chat, "nice", "tr")
    await chat.say("troll", "/help", group="nachbarn")
    await chat.say("nice", "/report", group="nachbarn", reply_to_user="troll")
    to_troll = len(chat.messages("troll"))
    await chat.press("carla", t("de", "Answer the reporter"), chat_id="carla")
    seen = await chat.say("carla", "Wir sehen uns das an.")
    assert [s.chat_id for s in seen] == ["carla", "nice"]
    assert len(chat.messages("troll")) == to_troll  # the reported person hears nothing
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", t("de", "Waiting for decisions"))
    report = next(
        s for s in seen if s.buttons == [t("de", "Block this person"), t("de", "Dismiss")]
    )
    seen = await chat.tap("carla", report.token(t("de", "Block this person")))
    assert seen[0].text == t(
        "de", "{name} is blocked and can no longer use the bot.", name="Troll"
    )
