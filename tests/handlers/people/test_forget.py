"""A whole life with the bot, then /mydata shows all of it and /delete leaves nothing behind.

Zoe runs a parents' initiative: she signs up, posts a need, accepts a volunteer, asks the team
a question, reports a man in a group, votes, answers a survey, subscribes to events and says
she will come to one. She is reported herself and blocked for a while. Then she asks for her
data, and deletes it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.app import App
from db.models import Base, Need, Person
from handlers.people.mydata_export import NOT_EXPORTED, SECTIONS
from lotse.demo import load_demo
from tests.handlers.events.test_events import publish_event, subscribe
from tests.handlers.network.test_governance import start_poll
from tests.handlers.people.test_privacy import scan
from tests.handlers.referral.test_referral import guided
from tests.support import Conversation, make_volunteer, onboard, t

ORG_INTENT = "I act for an initiative or organisation"
QUESTION = "My landlord keeps the deposit for flat 7B since March"
REPORT = "The man with the red cap shouted at the children again"
SURVEY_ANSWER = "More evening classes near the Lindenweg school"
ZOE_WROTE = (QUESTION, REPORT, SURVEY_ANSWER)
#: Her platform id and name; long enough not to turn up by chance inside a random token.
ZOE, NAME = "zoe-marlene", "Zoe-marlene"


def references_to_people() -> list[tuple[str, str]]:
    """Every (table, column) of the models that refers to a person, from the foreign keys."""
    return sorted(
        (table.name, fk.parent.name)
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "people"
    )


async def zoe_id(app: App) -> int:
    async with app.session_factory() as session:
        zoe = await session.scalar(select(Person.id).where(Person.platform_user_id == ZOE))
    assert zoe is not None
    return zoe


async def a_rich_life(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)  # coordinator
    await onboard(chat, ZOE, "en", ORG_INTENT)
    await onboard(chat, "nice", "ar")
    await make_volunteer(app, "lina", activities=("childcare",))
    # a need, published after review, and a volunteer accepted
    await chat.say(ZOE, "/need Childcare for the parents' evening")
    for label in ("Skip", "Done", "Altstadt", "Skip", "Flexible, by arrangement", "1"):
        await chat.press(ZOE, label)
    await chat.press(ZOE, "2 weeks")
    await chat.press(ZOE, "Publish")
    await chat.press("carla", t("de", "Publish"), chat_id="carla")
    await chat.press("lina", t("de", "I can help"))
    await chat.press(ZOE, "Accept")
    # a question to the team, answered (the demo brings the directory of services)
    await load_demo(app.session_factory, now=app.services.clock())
    await guided(chat, ZOE, "en", "Housing", "Tenancy problems", "English", "Anywhere in the city")
    await chat.press(ZOE, "No")
    await chat.press(ZOE, "Talk to a person")
    await chat.say(ZOE, QUESTION)
    await chat.press("carla", t("de", "Answer it"), chat_id="carla")
    await chat.say("carla", "Bitte kommen Sie zum Mieterverein.")
    # a report she makes, and one about her
    await chat.say(ZOE, f"/report {REPORT}")
    await chat.press("carla", t("de", "Answer the reporter"), chat_id="carla")
    await chat.say("carla", "Danke, wir sprechen mit der Gruppe.")  # it quotes her report
    await chat.say(ZOE, "/help", group="eltern")
    await chat.say("nice", "/report", group="eltern", reply_to_user=ZOE)
    # a vote, and a survey that is not anonymous
    await start_poll(chat, "One vote per person", quorum=1)
    await chat.press(ZOE, "Ja")
    await chat.say("carla", "/survey")
    await chat.say("carla", "Was fehlt euch?")
    await chat.press("carla", t("de", "Free text"))
    await chat.say("carla", "Was sollen wir anbieten?")
    await chat.press("carla", t("de", "Finish"))
    await chat.press("carla", t("de", "Everyone"))
    await chat.press("carla", t("de", "No, with names"))
    await chat.press("carla", t("de", "Send"))
    await chat.press(ZOE, "Start")
    await chat.say(ZOE, SURVEY_ANSWER)
    # events: subscribed, and coming to one
    await subscribe(chat, ZOE, "en")
    await publish_event(chat)
    await chat.press("carla", t("de", "Publish"))
    await chat.press(ZOE, "I'll come")
    # blocked after the report, and on the coordinator's list of blocked people
    await chat.press("carla", t("de", "Block this person"), chat_id="carla")
    await chat.say("carla", "/admin")
    await chat.press("carla", t("de", "Blocked people"))


async def test_mydata_holds_a_row_of_every_table_that_refers_to_people(
    chat: Conversation, app: App
) -> None:
    for reference in references_to_people():
        assert reference in SECTIONS or reference in NOT_EXPORTED, (
            f"{reference} refers to people but is not in /mydata's export"
        )
    await a_rich_life(chat, app)
    seen = await chat.say(ZOE, "/mydata")
    assert seen[0].message.attachment is not None
    data: dict[str, Any] = json.loads(seen[0].message.attachment.content)
    zoe = await zoe_id(app)
    async with app.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                reference = (table.name, fk.parent.name)
                if fk.column.table.name != "people" or reference in NOT_EXPORTED:
                    continue
                (key,) = table.primary_key.columns
                stored = set(await conn.scalars(select(key).where(fk.parent == zoe)))
                section = data.get(SECTIONS[reference]) or []
                items = section if isinstance(section, list) else [section]
                assert stored <= {item["id"] for item in items}, f"{reference}: {stored}"
    # what the issue asked for by name
    question = data["questions_to_the_team"][0]["messages"]
    assert [m["from"] for m in question] == ["you", "team"] and question[0]["text"] == QUESTION
    assert data["event_attendance"][0]["coming"] is True and data["subscriptions"]
    assert data["survey_answers"][0]["answers"] == [SURVEY_ANSWER] and data["survey_drafts"]
    assert data["needs_posted"][0]["title"] == "Childcare for the parents' evening"
    assert data["reports_made"][0]["text"] == REPORT
    assert data["reports_made"][0]["answer"] == "Danke, wir sprechen mit der Gruppe."
    assert data["reports_about_you"] and "reporter" not in json.dumps(data["reports_about_you"])
    assert data["person"]["blocked_at"] and data["person"]["deleted_if_inactive_until"]
    assert t("en", "Questions to the team") + ": 1" in seen[0].text


async def test_delete_after_a_rich_life_leaves_no_trace(chat: Conversation, app: App) -> None:
    await a_rich_life(chat, app)
    zoe = await zoe_id(app)
    assert await scan(app, ZOE, NAME, *ZOE_WROTE)  # traces are there before
    await chat.say(ZOE, "/delete")
    seen = await chat.press(ZOE, "Yes, delete everything")
    assert seen[0].text.startswith("Everything I had stored about you is deleted.")
    await chat.sender.drain()
    assert await scan(app, ZOE, NAME, *ZOE_WROTE, f"p:{zoe}", f"person:{zoe}") == []
    async with app.engine.connect() as conn:
        for table, column in references_to_people():
            col = Base.metadata.tables[table].columns[column]
            assert not list(await conn.scalars(select(col).where(col == zoe))), (table, column)
    # the need stays, without her name; her id goes to nobody else
    await onboard(chat, "newcomer", "uk")
    async with app.session_factory() as session:
        need = await session.scalar(select(Need).where(Need.title.startswith("Childcare")))
        newcomer = await session.scalar(
            select(Person).where(Person.platform_user_id == "newcomer")
        )
    assert need is not None and need.poster_person_id is None
    assert newcomer is not None and newcomer.id > zoe


async def test_a_coordinators_numbered_keyboard_forgets_the_deleted_person(app: App) -> None:
    """Without buttons (Matrix), the coordinator's last options are stored with their values:
    "1 Unblock" stood for the person's id, and stops standing for it."""
    from db.models import Keyboard

    chat = Conversation(app, platform="console", inline_buttons=False)
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("troll", "/start", lang="en")
    await chat.say("troll", "English")
    await chat.say("troll", "I agree")
    troll = await chat_person_id(app, "troll")
    async with app.session_factory() as session:
        person = await session.get(Person, troll)
        assert person is not None
        person.blocked_at = app.services.clock()
        await session.commit()
    await chat.say("carla", "/admin")
    await chat.say("carla", t("de", "Blocked people"))
    await chat.say("troll", "/delete")
    await chat.say("troll", "1")  # Yes, delete everything
    async with app.session_factory() as session:
        keyboards = list(await session.scalars(select(Keyboard)))
    assert [k.chat_id for k in keyboards] == ["carla"]
    assert all(entry[3] != str(troll) for entry in keyboards[0].buttons)
    assert await scan(app, "Troll") == []
    seen = await chat.say("carla", "1")
    assert "Troll" not in seen[0].text


async def chat_person_id(app: App, user: str) -> int:
    async with app.session_factory() as session:
        found = await session.scalar(select(Person.id).where(Person.platform_user_id == user))
    assert found is not None
    return found
