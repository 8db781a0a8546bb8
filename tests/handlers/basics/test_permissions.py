"""The roles matrix: every command and button, tried by every role."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.core.i18n import use_locale
from db.models import (
    ButtonToken,
    Organisation,
    OrganisationMember,
    Person,
    PersonRole,
)
from handlers.basics.permissions import BUTTONS, COMMANDS, REFUSALS, Level
from tests.support import Conversation, make_volunteer, t

PERSONAS: dict[str, set[Level]] = {
    "stranger": {Level.ANYONE},
    "person": {Level.ANYONE, Level.PERSON},
    "volunteer": {Level.ANYONE, Level.PERSON, Level.VOLUNTEER},
    "member": {Level.ANYONE, Level.PERSON, Level.ORG_MEMBER},
    "orgadmin": {Level.ANYONE, Level.PERSON, Level.ORG_MEMBER, Level.ORG_ADMIN},
    "coordinator": set(Level),
}


async def make_personas(app: App) -> dict[str, int]:
    now = app.services.clock()
    ids = {"volunteer": await make_volunteer(app, "volunteer")}
    async with app.session_factory() as session:
        org = Organisation(
            slug="o", name="Helferkreis", kind="welcome_initiative", status="approved"
        )
        session.add(org)
        for name in ("stranger", "person", "member", "orgadmin", "coordinator"):
            person = Person(
                platform="fake",
                platform_user_id=name,
                language="de",
                roles=[],
                consent_version=None if name == "stranger" else 2,
                consent_at=None if name == "stranger" else now,
                intent="volunteer",
            )
            session.add(person)
            await session.flush()
            ids[name] = person.id
        session.add(
            OrganisationMember(organisation_id=org.id, person_id=ids["member"], role="member")
        )
        session.add(
            OrganisationMember(organisation_id=org.id, person_id=ids["orgadmin"], role="admin")
        )
        session.add(PersonRole(person_id=ids["coordinator"], role="coordinator"))
        await session.commit()
    return ids


def refusal_texts() -> set[str]:
    with use_locale("de"):
        texts = {t("de", message) for message in REFUSALS.values()}
    return texts


def consent_prompt(text: str) -> bool:
    return text.startswith(
        t("de", "Before I can do that, I need your consent to store your data.")
    )


def test_every_command_and_button_is_in_the_table(app: App) -> None:
    routes = app.services.routes
    assert set(routes.commands) <= set(COMMANDS), set(routes.commands) - set(COMMANDS)
    assert set(routes.buttons) <= set(BUTTONS), set(routes.buttons) - set(BUTTONS)


def _refused(level: Level, persona: str, first: str) -> bool:
    if first in refusal_texts():
        return True
    return consent_prompt(first) and persona == "stranger"


@pytest.mark.parametrize("persona", list(PERSONAS))
async def test_commands_by_role(app: App, persona: str) -> None:
    await make_personas(app)
    chat = Conversation(app)
    for name in sorted(app.services.routes.commands):
        command = app.services.routes.commands[name]
        level = COMMANDS[name]
        group = "matrixtest" if not command.in_private else None
        seen = await chat.say(persona, f"/{name}", group=group)
        await chat.say(persona, "/cancel", group=group)
        first = seen[0].text if seen else ""
        expected_refused = level not in PERSONAS[persona]
        assert _refused(level, persona, first) == expected_refused, (
            f"/{name} by {persona} ({level}): {first[:80]!r}"
        )


@pytest.mark.parametrize("persona", list(PERSONAS))
async def test_buttons_by_role(app: App, persona: str) -> None:
    ids = await make_personas(app)
    chat = Conversation(app)
    for number, action in enumerate(sorted(app.services.routes.buttons)):
        token = f"matrix-{persona}-{number}"
        async with app.session_factory() as session:
            session.add(
                ButtonToken(
                    token=token,
                    platform="fake",
                    chat_id=persona,
                    person_id=ids[persona],
                    action=action,
                    value="",
                    created_at=app.services.clock(),
                )
            )
            await session.commit()
        seen = await chat.tap(persona, token)
        await chat.say(persona, "/cancel")
        first = seen[0].text if seen else ""
        level = BUTTONS[action]
        expected_refused = level not in PERSONAS[persona]
        assert _refused(level, persona, first) == expected_refused, (
            f"{action} by {persona} ({level}): {first[:80]!r}"
        )
