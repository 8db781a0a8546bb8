"""Data protection: /mydata, /delete leaving nothing behind, consent after a notice change,
retention, and flooding."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import String, Text, inspect, select

from bot.app import App
from bot.core.ratelimit import RateLimiter
from db.models import Base, Need, Person
from tests.support import Clock, Conversation, make_volunteer, onboard, t

ORG_INTENT = "I act for an initiative or organisation"


async def scan(app: App, *needles: str) -> list[str]:
    """Every table, every text column: where does any needle still appear?"""
    found = []
    async with app.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            text_columns = [
                c
                for c in table.columns
                if isinstance(c.type, String | Text) or "JSON" in str(c.type)
            ]
            if not text_columns:
                continue
            for row in await conn.execute(select(*text_columns)):
                for column, value in zip(text_columns, row, strict=True):
                    if value is not None and any(n in str(value) for n in needles):
                        found.append(f"{table.name}.{column.name}")
    return found


async def test_mydata_sends_everything_as_json_and_in_words(chat: Conversation, app: App) -> None:
    await onboard(chat, "anna", "de")
    await chat.say("anna", "/volunteer")
    for label in (
        "Childcare",
        "Done",
        "Deutsch",
        "Done",
        "native or fluent",
        "Südstadt",
        "Montag",
        "Done",
        "mornings",
        "Done",
        "Regularly",
        "2",
        "No quiet hours",
        "Save",
    ):
        await chat.press("anna", t("de", label))
    seen = await chat.say("anna", "/mydata")
    message = seen[0].message
    assert seen[0].text.startswith(t("de", "This is what I have stored about you:"))
    assert t("de", "Your ID: {platform}:{id}", platform="fake", id="anna") in seen[0].text
    assert message.attachment is not None
    data = json.loads(message.attachment.content)
    assert data["person"]["platform_user_id"] == "anna"
    assert data["person"]["consent_version"] == 2
    assert data["volunteer_profile"]["activities"] == ["childcare"]
    assert data["volunteer_profile"]["languages"] == {"de": "native"}


async def test_delete_leaves_no_personal_row_behind(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)  # coordinator
    await onboard(chat, "zoe", "en", ORG_INTENT)
    lina = await make_volunteer(app, "lina", activities=("childcare",))
    await chat.say("zoe", "/need Childcare for the parents' evening")
    for label in (
        "Skip",
        "Done",
        "Altstadt",
        "Skip",
        "Flexible, by arrangement",
        "1",
        "2 weeks",
        "Publish",
    ):
        await chat.press("zoe", label)
    await chat.press("carla", t("de", "Publish"), chat_id="carla")
    await chat.press("lina", t("de", "I can help"))
    await chat.say("zoe", "/mydata")
    await chat.say("zoe", "/language")  # a flow in progress, and a keyboard
    seen = await chat.say("zoe", "/delete")
    assert seen[0].buttons == ["Yes, delete everything", "No, keep my data"]
    seen = await chat.press("zoe", "Yes, delete everything")
    assert seen[0].text.startswith("Everything I had stored about you is deleted.")
    assert await scan(app, "zoe", "Zoe") == []
    async with app.session_factory() as session:
        need = await session.scalar(select(Need))
        assert need is not None and need.poster_person_id is None  # kept, anonymised
        assert need.title == "Childcare for the parents' evening"
        people = list(await session.scalars(select(Person.platform_user_id)))
    assert "zoe" not in people and "lina" in people and lina
    # references by id are gone too: no row in any table points at a deleted person
    async with app.engine.connect() as conn:
        ids = set(await conn.scalars(select(Person.id)))
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == "people":
                    column = fk.parent
                    values = set(await conn.scalars(select(column).where(column.is_not(None))))
                    assert values <= ids, f"{table.name}.{column.name} points at {values - ids}"
    assert inspect  # the inspector is not needed: metadata lists every table


async def test_a_new_notice_version_asks_for_consent_again(chat: Conversation, app: App) -> None:
    await onboard(chat, "otto", "de")
    async with app.session_factory() as session:
        otto = await session.scalar(select(Person).where(Person.platform_user_id == "otto"))
        assert otto is not None
        otto.consent_version = 1  # agreed to the previous notice
        await session.commit()
    seen = await chat.say("otto", "/menu")
    assert seen[0].text.startswith(
        t("de", "Before I can do that, I need your consent to store your data.")
    )
    assert t("de", "Privacy notice (version {version})", version=2) in seen[0].text
    seen = await chat.press("otto", t("de", "I agree"))
    assert seen[0].text == t("de", "Thank you! Your consent is stored.")
    seen = await chat.say("otto", "/menu")
    assert seen[0].text == t("de", "What would you like to do?")


async def test_retention_reminds_then_deletes(chat: Conversation, app: App, clock: Clock) -> None:
    from handlers.people.mydata import retention

    await onboard(chat, "still", "de")
    await onboard(chat, "gone", "ar")
    await onboard(chat, "back", "uk")
    clock.advance(days=366)
    async with app.session_factory() as session:
        assert await retention(session, app.services, clock()) == (3, 0)
    await chat.sender.drain()
    reminder = chat.last("gone")
    assert reminder.buttons == [t("ar", "Keep my data")]
    await chat.press("still", t("de", "Keep my data"))
    await chat.say("back", "/help")
    clock.advance(days=31)
    async with app.session_factory() as session:
        assert await retention(session, app.services, clock()) == (0, 1)
        left = set(await session.scalars(select(Person.platform_user_id)))
    assert left == {"still", "back"}


async def test_flooding_gets_one_polite_answer_then_silence(app: App) -> None:
    now = [0.0]
    app.dispatcher.limiter = RateLimiter(capacity=5, refill_per_second=0.5, clock=lambda: now[0])
    chat = Conversation(app)
    answered = [await chat.say("spam", "/help", lang="de") for _ in range(5)]
    assert all(a for a in answered)
    seen = await chat.say("spam", "/help")
    assert seen[0].text == t(
        "de", "You are sending messages very quickly. Please wait a moment, then try again."
    )
    for _ in range(20):
        assert await chat.say("spam", "/help") == []
    assert await chat.say("other", "/help", lang="de")  # others are not affected
    now[0] += 10
    assert (await chat.say("spam", "/help"))[0].text.startswith(t("de", "Here is what I can do:"))


async def block(app: App, user: str) -> None:
    """What a coordinator's "Block this person" does (tested in test_desk.py)."""
    async with app.session_factory() as session:
        person = await session.scalar(select(Person).where(Person.platform_user_id == user))
        assert person is not None
        person.blocked_at = app.services.clock()
        await session.commit()


@pytest.mark.parametrize("inline_buttons", [True, False], ids=["buttons", "numbered"])
async def test_a_blocked_person_can_still_see_and_delete_their_data(
    app: App, inline_buttons: bool
) -> None:
    """GDPR Art. 15 and 17 hold for blocked people too: /mydata, /privacy and /delete work,
    everything else stays closed."""
    chat = Conversation(app, inline_buttons=inline_buttons)
    await onboard(chat, "carla", "de", ORG_INTENT)  # coordinator
    await onboard(chat, "troll", "en")
    await block(app, "troll")
    refusal = t(
        "en",
        "You can no longer use this bot. If you think this is a "
        "mistake, please contact the coordinators of the network.",
    )
    assert (await chat.say("troll", "/help"))[0].text == refusal
    seen = await chat.say("troll", "/mydata")
    assert seen[0].message.attachment is not None
    data = json.loads(seen[0].message.attachment.content)
    assert data["person"]["platform_user_id"] == "troll"
    seen = await chat.say("troll", "/privacy")
    assert seen[0].text.startswith(t("en", "Privacy notice (version {version})", version=2))
    seen = await chat.say("troll", "/delete")
    assert seen[0].buttons == ["Yes, delete everything", "No, keep my data"]
    if inline_buttons:
        seen = await chat.press("troll", "Yes, delete everything")
    else:
        seen = await chat.say("troll", "1")
    assert seen[0].text.startswith("Everything I had stored about you is deleted.")
    async with app.session_factory() as session:
        people = set(await session.scalars(select(Person.platform_user_id)))
    assert people == {"carla"}


async def test_a_blocked_person_cannot_press_other_buttons(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("troll", "/start", lang="en")
    await chat.press("troll", "English")  # the consent question is still open
    await block(app, "troll")
    seen = await chat.press("troll", "I agree")
    assert seen[0].text.startswith("You can no longer use this bot.")
    async with app.session_factory() as session:
        troll = await session.scalar(select(Person).where(Person.platform_user_id == "troll"))
        assert troll is not None and troll.consent_at is None
