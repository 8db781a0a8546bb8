"""A question to the team, closed before its answer, is answered all the same, exactly once:
on the terminal (numbered options, typed labels), on Telegram (fake Bot API, real HTTP) and on
Matrix (a real Synapse)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.i18n import LANGUAGE_NAMES
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.console import ConsoleTransport
from bot.transports.matrix import MatrixTransport
from bot.transports.telegram import TelegramTransport
from db.models import Person, PersonRole
from tests.drivers import Driver, MatrixDriver, Shown, TelegramDriver, _user_id
from tests.support import confirmation_labels, t, visible
from tests.synapse import Synapse

SEEKING = "I am looking for help or information"
ORG_INTENT = "I act for an initiative or organisation"
QUESTION = "Мій орендодавець не повертає заставу. Що мені робити?"
ANSWER = "Der Mieterverein berät dienstags um 15 Uhr, bringen Sie den Mietvertrag mit."


class ConsoleDriver:
    """The terminal chat in-process: each line is `NAME> text`; a "press" types the label."""

    name = "console"

    def __init__(self, console: ConsoleTransport, output: io.StringIO) -> None:
        self.console, self.output = console, output

    async def say(self, user: str, text: str, *, group: str | None = None) -> list[Shown]:
        start = len(self.output.getvalue())
        await self.console.handle_line(f"{user}> {text}")
        return [Shown(text, []) for text in blocks(self.output.getvalue()[start:], user)]

    async def press(self, user: str, label: str, *, group: str | None = None) -> list[Shown]:
        """Types the label; a destructive choice asks once more, and is confirmed (a tap on
        a real button would not ask)."""
        start = len(self.output.getvalue())
        shown = await self.say(user, label)
        printed = self.output.getvalue()[start:]
        for yes in confirmation_labels():
            if match := re.search(rf"^  \[(\w+)\] {re.escape(yes)}$", printed, re.MULTILINE):
                return await self.say(user, match.group(1))
        return shown

    async def make_group(self, name: str, admin: str, members: list[str]) -> None:
        raise NotImplementedError


OPTIONS = re.compile(r"^  \[\w+\](?: .*)?$\n?", re.MULTILINE)


def blocks(output: str, user: str) -> list[str]:
    """The messages printed for `user`, each without its header and numbered options."""
    found = []
    for block in output.split("[to ")[1:]:
        head, _newline, body = block.partition("\n")
        if head == f"{user}]":
            found.append(visible(OPTIONS.sub("", body)).strip())
    return found


async def onboard(driver: Driver, user: str, language: str, intent: str) -> None:
    await driver.say(user, "/start")
    await driver.press(user, LANGUAGE_NAMES[language])
    await driver.press(user, t(language, "I agree"))
    await driver.press(user, t(language, intent))


async def make_coordinator(app: App, platform: str, user_id: str) -> None:
    async with app.session_factory() as session:
        person = await session.scalar(
            select(Person).where(Person.platform == platform, Person.platform_user_id == user_id)
        )
        assert person is not None
        person.roles.append(PersonRole(role="coordinator", granted_at=app.services.clock()))
        await session.commit()


async def close_before_the_answer(
    driver: Driver, coordinator: Callable[[], Awaitable[None]]
) -> None:
    """Olena asks the team, closes the conversation; Carla finds it on the desk and answers."""
    await onboard(driver, "carla", "de", ORG_INTENT)
    await coordinator()
    await onboard(driver, "olena", "uk", SEEKING)
    await driver.say("olena", "/ask")
    for label in ("Housing", "Tenancy problems", "Any language", "Anywhere in the city"):
        await driver.press("olena", t("uk", label))
    await driver.press("olena", t("uk", "Talk to a person"))
    shown = await driver.say("olena", QUESTION)
    assert [s.text for s in shown] == [t("uk", "Sent. You will get the answer here.")]
    shown = await driver.press("olena", t("uk", "Close the conversation"))
    assert shown[-1].text == t(
        "uk",
        "Your question stays with the team until someone answers it; the answer will "
        "reach you here. If you no longer need an answer, withdraw your question.",
    )

    await driver.say("carla", "/admin")
    shown = await driver.press("carla", t("de", "Open questions"))
    assert any(QUESTION in s.text for s in shown)
    await driver.press("carla", t("de", "Answer it"))
    shown = await driver.say("carla", ANSWER)
    assert shown[-1].text == t(
        "de",
        "Sent. The person had closed the conversation before your answer, so it is closed now.",
    )


async def test_the_answer_reaches_the_terminal_once(app: App) -> None:
    output = io.StringIO()
    console = ConsoleTransport(app, user="olena", output=output)
    driver = ConsoleDriver(console, output)

    async def coordinator() -> None:
        pass  # the test settings name console:carla a coordinator

    await close_before_the_answer(driver, coordinator)
    assert await console.drain() == 0  # nothing is left for a second round
    answers = [text for text in blocks(output.getvalue(), "olena") if ANSWER in text]
    assert len(answers) == 1
    assert answers[0].startswith(t("uk", "Answer from the network's team:"))


async def test_the_answer_reaches_telegram_once(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    driver = TelegramDriver(bot_api, telegram.app)

    async def coordinator() -> None:
        await make_coordinator(telegram.app, "telegram", str(_user_id("carla")))

    await close_before_the_answer(driver, coordinator)
    olena = _user_id("olena")

    def answers() -> list[str]:
        return [visible(s.text) for s in bot_api.sent_to(olena) if ANSWER in s.text]

    await bot_api.wait_for(lambda: bool(answers()))
    await asyncio.sleep(1.5)  # a duplicate would arrive late
    assert len(answers()) == 1
    assert answers()[0].startswith(t("uk", "Answer from the network's team:"))


@pytest.mark.slow
async def test_the_answer_reaches_matrix_once(
    synapse: object, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    assert isinstance(synapse, Synapse)
    driver = MatrixDriver(synapse, matrix_bot, tmp_path / "people")
    try:

        async def coordinator() -> None:
            carla = await driver.person("carla")
            await make_coordinator(matrix_bot.app, "matrix", carla.user_id)

        await close_before_the_answer(driver, coordinator)
        olena, room = await driver.room("olena", None)

        def answers() -> list[str]:
            return [
                visible(r.body) for r in olena.from_bot(room, driver.bot_id) if ANSWER in r.body
            ]

        for _ in range(300):
            if answers():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # a duplicate would arrive late
        assert len(answers()) == 1
        assert answers()[0].startswith(t("uk", "Answer from the network's team:"))
    finally:
        await driver.close()
