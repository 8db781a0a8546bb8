"""Whatever people type reaches the handlers cleaned: command arguments too, not only free
text. A NUL that reached PostgreSQL failed the whole update, and a bidi override in a search
or a need turned the bot's answer around."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.ids import parse_id
from bot.core.types import Actor, Chat, ChatKind, Incoming
from db.models import ChatRecord, FlowState
from handlers.volunteering.posting import MAX_COUNT
from tests.support import Conversation, onboard, t

ORG_INTENT = "I act for an initiative or organisation"


async def test_a_nul_and_a_bidi_override_in_a_search_are_dropped(chat: Conversation) -> None:
    seen = await chat.say("lea", "/search legal\x00 advice \u202earabic\u202c", lang="en")
    assert seen[0].text == "Nothing found for “legal advice arabic”. Try other words, or use /ask."


async def test_a_nul_in_a_need_line_does_not_break_the_database(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    seen = await chat.say("carla", "/need Fahrdienst\x00 für \u202eFamilie Haddad")
    assert seen and seen[0].text != t(
        "de", "Sorry, something went wrong on our side. Please try again in a moment."
    )
    async with app.session_factory() as session:
        state = await session.scalar(select(FlowState))
    assert state is not None
    stored = repr(state.data)
    assert "\x00" not in stored and "\u202e" not in stored
    assert "Fahrdienst für Familie Haddad" in state.data.get("title", "")


async def test_a_group_title_with_control_characters_is_stored_clean(
    chat: Conversation, app: App
) -> None:
    incoming = Incoming(
        Actor("console", "anna"),
        Chat("console", "#helfer", ChatKind.GROUP, "Helfer\x00kreis \u202eSüd"),
        text="/help",
    )
    await chat.send(incoming)
    async with app.session_factory() as session:
        record = await session.scalar(
            select(ChatRecord).where(ChatRecord.platform_chat_id == "#helfer")
        )
    assert record is not None and record.title == "Helferkreis Süd"


async def test_a_superscript_two_is_not_a_number_but_an_arabic_three_is(
    chat: Conversation, app: App
) -> None:
    """`str.isdigit()` accepts `²`, which `int()` refuses; `٣` is a digit to both."""
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("carla", "/need Fahrdienst für Familie Haddad")
    await chat.press("carla", t("de", "Skip"))
    await chat.press("carla", t("de", "Done"))
    for label in ("Altstadt", t("de", "Skip"), t("de", "Flexible, by arrangement")):
        await chat.press("carla", label)
    seen = await chat.say("carla", "²")
    assert seen[0].text == t("de", "Please give a number from 1 to {max}.", max=MAX_COUNT)
    await chat.say("carla", "٣")
    async with app.session_factory() as session:
        state = await session.scalar(select(FlowState))
    assert state is not None and state.data["count"] == 3


@pytest.mark.parametrize("number", ["99999999999999999999", "2147483648", "0"])
async def test_a_link_to_a_need_with_an_impossible_number(chat: Conversation, number: str) -> None:
    """Past the INTEGER range the database refused the number and the update failed."""
    await onboard(chat, "carla", "en", ORG_INTENT)
    seen = await chat.say("carla", f"/start need_{number}")
    assert seen[0].text == "This need does not exist (any more)."


def test_ids_are_whole_numbers_in_range() -> None:
    assert [parse_id(text) for text in ("42", "٣", "²", "-1", "0", "2147483647", "1e3")] == [
        42,
        3,
        None,
        None,
        None,
        2**31 - 1,
        None,
    ]
