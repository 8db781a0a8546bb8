"""Someone in two organisations is asked for which one they post, on every messenger.

Lea leads two initiatives, "Willkommen Süd" (joined first) and "Nähcafé Nord". Privately, a
need or an event of hers could be either's, so she is asked; in the group linked to one of
them, that one is meant and nothing is asked. Mo belongs to one initiative and is never asked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.models import Event, Need, Organisation, OrganisationMember, Person
from tests.drivers import Driver, FakeDriver, Shown
from tests.support import Conversation, t

ORG_INTENT = "I act for an initiative or organisation"
FIRST, SECOND = "Willkommen Süd", "Nähcafé Nord"
WHICH = "For which organisation are you posting this?"
DESCRIBE = (
    "Describe the task in a few sentences: what will the volunteer do, and what should they "
    "know? (Or skip.)"
)


async def onboard(driver: Driver, user: str) -> None:
    """Through /start in German, as someone who acts for an initiative."""
    await driver.say(user, "/start")
    await driver.press(user, "Deutsch")
    await driver.press(user, t("de", "I agree"))
    await driver.press(user, t("de", ORG_INTENT))


async def organisations(driver: Driver, members: dict[str, list[str]]) -> dict[str, int]:
    """Approved organisations (registered earlier) with their members, in joining order."""
    joined = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ids: dict[str, int] = {}
    async with driver.app.session_factory() as session:
        for number, name in enumerate((FIRST, SECOND)):
            org = Organisation(
                slug=f"org-{number}",
                name=name,
                kind="initiative",
                status="approved",
                invite_code=f"CODE{number}",
            )
            session.add(org)
            await session.flush()
            ids[name] = org.id
        for user, names in members.items():
            platform, user_id = await driver.account(user)
            person = await session.scalar(
                select(Person).where(
                    Person.platform == platform, Person.platform_user_id == user_id
                )
            )
            assert person is not None, user
            for name in names:
                joined += timedelta(days=1)
                session.add(
                    OrganisationMember(
                        organisation_id=ids[name], person_id=person.id, joined_at=joined
                    )
                )
        await session.commit()
    return ids


async def finish_need(driver: Driver, user: str, group: str | None = None) -> list[Shown]:
    """Answer the rest of a need with a prefilled title; returns what the preview showed."""
    for label in ("Skip", "Done", "Altstadt", "Skip", "Flexible, by arrangement", "1"):
        await driver.press(user, t("de", label), group=group)
    return await driver.press(user, t("de", "2 weeks"), group=group)


def posted_by(shown: list[Shown], name: str) -> bool:
    """The need's card (the preview) names this organisation."""
    return any(t("de", "Posted by: {organisation}", organisation=name) in s.text for s in shown)


async def test_a_lead_of_two_initiatives_is_asked_for_which_one_she_posts_a_need(
    driver: Driver,
) -> None:
    await onboard(driver, "lea")
    await onboard(driver, "mo")
    await driver.make_group("helfer", admin="lea", members=["mo"])
    ids = await organisations(driver, {"lea": [FIRST, SECOND], "mo": [SECOND]})

    shown = await driver.say("lea", "/need Kinderbetreuung beim Umzug")
    assert shown[-1].text == t("de", WHICH)
    assert shown[-1].buttons == [FIRST, SECOND]
    shown = await driver.press("lea", SECOND)
    assert shown[-1].text == t("de", DESCRIBE)
    preview = await finish_need(driver, "lea")
    assert posted_by(preview, SECOND)
    assert not posted_by(preview, FIRST)
    shown = await driver.press("lea", t("de", "Publish"))
    assert shown[0].text == t(
        "de",
        "Published! Nobody fits right now; I will keep looking and ask new volunteers as "
        "they sign up.",
    )
    async with driver.app.session_factory() as session:
        need = await session.scalar(select(Need).where(Need.title == "Kinderbetreuung beim Umzug"))
    assert need is not None and need.organisation_id == ids[SECOND]
    assert need.status == "open"  # a member of an approved initiative publishes at once

    # in the group linked to the first initiative, the first is meant: nothing is asked
    await driver.say("lea", "/linkgroup", group="helfer")
    await driver.press("lea", FIRST, group="helfer")
    shown = await driver.say("lea", "/need Begleitung zur Ausländerbehörde", group="helfer")
    assert shown[-1].text == t("de", DESCRIBE)
    preview = await finish_need(driver, "lea", group="helfer")
    assert posted_by(preview, FIRST)

    # Mo belongs to one initiative: he is not asked, and posts for it
    shown = await driver.say("mo", "/need Hausaufgabenhilfe für Familien")
    assert shown[-1].text == t("de", DESCRIBE)
    preview = await finish_need(driver, "mo")
    assert posted_by(preview, SECOND)


async def test_a_lead_of_two_initiatives_is_asked_for_which_one_she_announces_an_event(
    driver: Driver,
) -> None:
    await onboard(driver, "lea")
    ids = await organisations(driver, {"lea": [FIRST, SECOND]})
    shown = await driver.say("lea", "/newevent")
    assert shown[-1].text == t("de", WHICH)
    assert shown[-1].buttons == [FIRST, SECOND]
    await driver.press("lea", SECOND)
    await driver.say("lea", "Nähcafé für alle")
    await driver.press("lea", t("de", "Skip"))
    await driver.say("lea", "Di 18:00")
    await driver.say("lea", "20:00")
    await driver.press("lea", "Altstadt")
    await driver.say("lea", "Gemeindehaus, Kirchweg 3")
    await driver.press("lea", t("de", "Language courses"))
    await driver.press("lea", t("de", "everyone"))
    await driver.press("lea", t("de", "Done"))
    await driver.press("lea", t("de", "No limit"))
    preview = await driver.press("lea", t("de", "once"))
    assert any(t("de", "Organised by: {name}", name=SECOND) in s.text for s in preview)
    await driver.press("lea", t("de", "Publish"))
    async with driver.app.session_factory() as session:
        event = await session.scalar(select(Event))
    assert event is not None and event.organisation_id == ids[SECOND]


async def test_she_can_change_the_organisation_at_the_preview(chat: Conversation) -> None:
    """On the terminal (no need for every messenger): the preview's "change" offers the
    organisation too, and the card follows her new choice."""
    driver = FakeDriver(chat)
    await onboard(driver, "lea")
    ids = await organisations(driver, {"lea": [FIRST, SECOND]})
    await driver.say("lea", "/need Kinderbetreuung beim Umzug")
    await driver.press("lea", SECOND)
    preview = await finish_need(driver, "lea")
    assert posted_by(preview, SECOND)
    await driver.press("lea", t("de", "Change something"))
    shown = await driver.press("lea", t("de", "Organisation"))
    assert shown[-1].text == t("de", WHICH)
    preview = await driver.press("lea", FIRST)
    assert posted_by(preview, FIRST) and not posted_by(preview, SECOND)
    await driver.press("lea", t("de", "Publish"))
    async with chat.app.session_factory() as session:
        need = await session.scalar(select(Need))
    assert need is not None and need.organisation_id == ids[FIRST]
