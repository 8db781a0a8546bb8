"""/help lists what the person may use: coordinators and organisation members see their
commands under a heading; nobody is offered a command that would only be refused."""

from __future__ import annotations

from bot.app import App
from lotse.demo import load_demo
from tests.support import Clock, Conversation, t

COORDINATOR_COMMANDS = ("/admin", "/poll", "/survey", "/broadcast", "/appoint", "/block")


async def onboard(chat: Conversation, user: str) -> None:
    await chat.say(user, "/start", lang="de")
    await chat.press(user, "Deutsch")
    await chat.press(user, t("de", "I agree"))
    await chat.press(user, t("de", "I act for an initiative or organisation"))


async def test_a_coordinator_sees_their_commands_under_a_heading(chat: Conversation) -> None:
    await onboard(chat, "carla")
    text = (await chat.say("carla", "/help"))[0].text
    general, _, mine = text.partition(t("de", "For coordinators:"))
    assert mine, text
    for command in COORDINATOR_COMMANDS:
        assert f"\n{command} – " in mine and f"\n{command} – " not in general
    assert "/help – " in general and "/volunteer – " in general


async def test_someone_new_sees_no_coordinator_or_member_commands(chat: Conversation) -> None:
    await onboard(chat, "otto")
    text = (await chat.say("otto", "/help"))[0].text
    assert t("de", "For coordinators:") not in text
    assert t("de", "For members of your organisation:") not in text
    for command in (*COORDINATOR_COMMANDS, "/newevent", "/linkgroup"):
        assert f"{command} – " not in text
    assert "/organisation – " in text and "/join – " in text  # how to become a member


async def test_a_member_of_an_organisation_sees_its_commands(app: App, clock: Clock) -> None:
    await load_demo(app.session_factory, now=clock())
    kim = Conversation(app, platform="console")  # Kim runs two demo initiatives
    text = (await kim.say("kim", "/help", lang="de"))[0].text
    general, _, mine = text.partition(t("de", "For members of your organisation:"))
    assert "/newevent – " in mine
    assert "/newevent" not in general
    assert t("de", "For coordinators:") not in text
