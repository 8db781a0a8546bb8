"""Referral advice from the directory: guided questions in German, Arabic and Ukrainian, free
search in two languages, a whole hand-over ticket, and the freshness check."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from db.directory import DirService
from db.models import ReferralQuestion, Ticket, TicketMessage
from lotse.demo import load_demo
from tests.support import Clock, Conversation, onboard, t

SEEKING = "I am looking for help or information"


async def guided(
    chat: Conversation,
    user: str,
    language: str,
    topic: str,
    subtopic: str | None,
    spoken: str,
    area: str,
) -> list[str]:
    await chat.say(user, "/ask")
    await chat.press(user, t(language, topic))
    if subtopic:
        await chat.press(user, t(language, subtopic))
    await chat.press(user, spoken)
    seen = await chat.press(
        user, area if area in ("Südstadt", "Oststadt", "Altstadt") else t(language, area)
    )
    assert seen[0].text == t(language, "These services can help:")
    assert seen[-1].buttons == [
        t(language, "Yes"),
        t(language, "No"),
        t(language, "Talk to a person"),
    ]
    return [s.text for s in seen[1:-1]]


async def test_guided_referral_in_three_languages(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "hans", "de", SEEKING)
    cards = await guided(
        chat,
        "hans",
        "de",
        "Residence and asylum law",
        "Asylum procedure",
        "Arabisch",
        "Anywhere in the city",
    )
    assert cards[0].startswith("Asylverfahrensberatung")
    assert "Arabisch" in cards[0] and t("de", "Opening hours: {hours}", hours="")[:8] in cards[0]

    await onboard(chat, "amina", "ar", SEEKING)
    cards = await guided(chat, "amina", "ar", "Health", "Pregnancy", "العربية", "Südstadt")
    assert any("Schwangerschaft" in c or "الحمل" in c for c in cards[:2])
    assert "العربية" in cards[0]

    await onboard(chat, "oksana", "uk", SEEKING)
    cards = await guided(
        chat, "oksana", "uk", "Psychosocial support", None, "Українська", "Anywhere in the city"
    )
    assert len(cards) >= 3
    assert all("Українська" in c or "українська" in c for c in cards[:3])
    seen = await chat.press("oksana", t("uk", "Yes"))
    assert seen[0].text == t("uk", "Glad to hear it. Good luck!")
    async with app.session_factory() as session:
        questions = list(await session.scalars(select(ReferralQuestion)))
    assert len(questions) == 3 and [q.helpful for q in questions] == [None, None, True]


async def test_search_in_two_languages(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    seen = await chat.say("lea", "/search legal advice arabic", lang="en")
    assert seen[0].text == "Results for “legal advice arabic”:"
    names = [s.text.split("\n")[0] for s in seen[1:]]
    assert any("Asyl" in n or "Aufenthalt" in n or "asylum" in n.lower() for n in names[:3])
    seen = await chat.say("lea", "/search Psychotherapie Farsi")
    assert any("Psychotherap" in s.text for s in seen[1:3])
    seen = await chat.say("lea", '/search "; DROP TABLE dir_search; --')
    assert seen  # hostile input is only words to us
    seen = await chat.say("lea", "/search xyzzyqq")
    assert seen[0].text == "Nothing found for “xyzzyqq”. Try other words, or use /ask."


async def test_a_whole_hand_over_ticket(chat: Conversation, app: App, clock: Clock) -> None:
    from handlers.network.tickets import remind_tickets

    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "de", "I act for an initiative or organisation")
    await onboard(chat, "farid", "fa", SEEKING)
    await guided(
        chat, "farid", "fa", "Housing", "Tenancy problems", "فارسی", "Anywhere in the city"
    )
    await chat.press("farid", t("fa", "No"))
    seen = await chat.press("farid", t("fa", "Talk to a person"))
    assert seen[0].text.startswith(
        t(
            "fa",
            "Please write your question. A person from the "
            "network's team will answer you here. They see "
            "your question, but not your name or phone "
            "number.",
        )
    )
    seen = await chat.say("farid", "Mein Vermieter will die Kaution nicht zurückzahlen.")
    to_carla = next(s for s in seen if s.chat_id == "carla")
    assert "Kaution" in to_carla.text and "farid" not in to_carla.text.lower()
    assert "Farid" not in to_carla.text
    # unanswered for a day: the coordinators are reminded, once
    clock.advance(hours=25)
    async with app.session_factory() as session:
        assert await remind_tickets(session, app.services, clock()) == 1
    async with app.session_factory() as session:
        assert await remind_tickets(session, app.services, clock()) == 0
    await chat.sender.drain()
    assert "still waiting" in chat.last("carla").text or chat.last("carla").buttons
    seen = await chat.press("carla", t("de", "Answer it"), chat_id="carla")
    assert "Kaution" in seen[0].text
    seen = await chat.say("carla", "Bitte kommen Sie zum Mieterverein, Dienstag 15 Uhr.")
    assert [s.text for s in seen if s.chat_id == "carla"] == [t("de", "Sent.")]  # no repeat
    to_farid = next(s for s in seen if s.chat_id == "farid")
    assert to_farid.text.startswith(t("fa", "Answer from the network's team:"))
    assert "carla" not in to_farid.text.lower()
    await chat.press("farid", t("fa", "Reply"))
    seen = await chat.say("farid", "Danke, ich komme.")
    assert any(s.chat_id == "carla" and "Danke, ich komme." in s.text for s in seen)
    # his thanks are a message the team has not read yet: closing keeps it open until he
    # withdraws it
    seen = await chat.press("farid", t("fa", "Close the conversation"))
    assert seen[0].buttons == [t("fa", "Withdraw my question")]
    seen = await chat.press("farid", t("fa", "Withdraw my question"))
    assert seen[0].text == t("fa", "Your question is withdrawn. Send /ask if you need help again.")
    assert any(s.chat_id == "carla" for s in seen)
    async with app.session_factory() as session:
        ticket = await session.scalar(select(Ticket))
        messages = list(await session.scalars(select(TicketMessage)))
    assert ticket is not None and ticket.status == "closed" and len(messages) == 3


async def test_freshness_check_with_a_controllable_clock(
    chat: Conversation, app: App, clock: Clock
) -> None:
    from handlers.organisations.partners import ask_for_confirmation

    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "de", "I act for an initiative or organisation")
    async with app.session_factory() as session:
        asked = await ask_for_confirmation(session, app.services, clock())
    assert asked >= 1
    async with app.session_factory() as session:
        assert await ask_for_confirmation(session, app.services, clock()) == 0  # once a month
    await chat.sender.drain()
    question = chat.last("carla")
    assert question.text.startswith(t("de", "Is this entry in our directory still correct?"))
    name = question.text.split("\n")[2]
    seen = await chat.press("carla", t("de", "Yes, it is correct"))
    assert seen[0].text == t("de", "Thank you! The entry is marked as confirmed.")
    async with app.session_factory() as session:
        service = await session.scalar(select(DirService).where(DirService.name == name))
        assert service is not None and service.assured_date == clock()
    clock.advance(days=200)
    async with app.session_factory() as session:
        assert await ask_for_confirmation(session, app.services, clock()) > asked
    assert timedelta


@pytest.mark.slow
def test_cli_import_reports_errors_and_changes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    source = Path(__file__).resolve().parents[3] / "lotse" / "demo_data" / "directory"
    broken.mkdir()
    for file in source.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    import csv

    with (broken / "services.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[2]["topic"] = "astrology"  # the third data row
    with (broken / "services.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOTSE_", "TELEGRAM_"))}
    env["LOTSE_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "lotse", "directory", "import", str(broken)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1
    assert "services.csv, row 3, topic" in result.stderr
    assert "nothing was imported" in result.stderr
    good = subprocess.run(
        [sys.executable, "-m", "lotse", "directory", "import", str(source)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert good.returncode == 0 and "55 services searchable" in good.stderr


async def test_coordinators_keep_the_partner_directory(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", "I act for an initiative or organisation")
    seen = await chat.say("carla", "/partners")
    assert seen[0].buttons == [t("de", "Add a partner"), t("de", "Edit a partner")]
    await chat.press("carla", t("de", "Add a partner"))
    await chat.say("carla", "Repair Café Oststadt")
    await chat.press("carla", t("de", "Welcome initiative"))
    await chat.press("carla", "Oststadt")
    await chat.say("carla", "Gemeinsam Fahrräder und Geräte reparieren, jeden Samstag.")
    await chat.say("carla", "repair@example.org")
    seen = await chat.press("carla", t("de", "Send"))
    assert seen[0].text == t(
        "de", "{name} is now listed in the partner directory.", name="Repair Café Oststadt"
    )
    await chat.say("carla", "/partners")
    await chat.press("carla", t("de", "Edit a partner"))
    await chat.press("carla", "Repair Café Oststadt")
    await chat.press("carla", t("de", "Contact"))
    await chat.say("carla", "+49 555 209 999")
    seen = await chat.say("ella", "/partners", lang="en")  # anyone may read it
    assert "Repair Café Oststadt (Oststadt)" in seen[0].text
    assert "+49 555 209 999" in seen[0].text and not seen[0].buttons


async def test_something_else_comes_last_in_the_option_lists(chat: Conversation) -> None:
    await onboard(chat, "hans", "de", SEEKING)
    await chat.say("hans", "/ask")
    seen = await chat.press("hans", t("de", "Residence and asylum law"))
    assert seen[0].buttons[-1] == t("de", "Something else")
    assert seen[0].buttons[0] == t("de", "Asylum procedure")
    await chat.press("hans", t("de", "Something else"))
    seen = await chat.press("hans", "Arabisch")  # the catch-all options come last here too
    assert seen[0].buttons[-1] == t("de", "Anywhere in the city")


async def test_farsi_counts_are_written_in_persian_digits(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "dariush", "fa")
    seen = await chat.say("dariush", "/needs")
    heading = seen[0].text.split("\n\n")[0]  # "open needs: 10", "page 1 of 2"
    assert heading.startswith(t("fa", "Open needs: {count}", count="۱۰"))
    assert not any(c in "0123456789" for c in heading)
    assert "\n۱. " in seen[0].text and "\n2. " not in seen[0].text  # the needs are numbered
