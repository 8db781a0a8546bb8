"""A property: whatever pushes arrive in between, a sign-up typed by handle saves what was chosen.

Hypothesis picks the choices of a volunteer sign-up on a platform without buttons and, before
each answer, how many pushes with options (each with its own handles) arrive. The person
always answers the question in front of them by its handle; the saved profile must be exactly
what they chose, and no push may have been acted on.
"""

from __future__ import annotations

import re
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.core.buttons import bare_label
from bot.core.context import make_reply
from bot.core.notify import Notifier
from bot.core.types import Button
from db.models import Person, VolunteerProfile
from tests.support import Conversation, onboard, t

ACTIVITIES = {
    "accompany_authorities": "Accompanying to appointments and authorities",
    "interpreting": "Language mediation and interpreting",
    "childcare": "Childcare",
}
LIMITS = ["1", "2", "3", "5", "10"]
_GROUP_HANDLE = re.compile(r"^\d+[a-z]+$")
_people = count()


async def push(app: App, user: str, options: int) -> None:
    """A push with options arrives (here: anything that would pause or delete if pressed)."""
    async with app.session_factory() as session:
        person = await session.scalar(select(Person).where(Person.platform_user_id == user))
        assert person is not None
        notifier = Notifier(session, app.services)
        choices = [
            Button("volunteer.pause", "Pause offers"),
            Button("volunteer.delete", "Delete profile", "confirm"),
            Button("offer.help", "I can help", "999999"),
            Button("volunteer.edit", "Edit area", "area"),
        ][:options]
        await notifier.to_person(person, lambda: make_reply("Something new:\nA push", [choices]))
        await session.commit()


async def answer(chat: Conversation, user: str, label: str) -> None:
    """Type the handle of `label` in the latest message that asks with it (the open form)."""
    for seen in reversed(chat.messages(user)):
        for row in seen.message.buttons:
            for button in row:
                if bare_label(button.label) == label and not _GROUP_HANDLE.match(button.handle):
                    await chat.say(user, button.handle)
                    return
    raise AssertionError(f"no form option {label!r}: {chat.transcript(user)}")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    activities=st.sets(st.sampled_from(sorted(ACTIVITIES)), min_size=1),
    limit=st.sampled_from(LIMITS),
    pushes=st.lists(st.integers(min_value=0, max_value=2), min_size=12, max_size=12),
    sizes=st.lists(st.integers(min_value=1, max_value=4), min_size=12, max_size=12),
)
async def test_pushes_in_between_never_change_a_typed_sign_up(
    app: App, activities: set[str], limit: str, pushes: list[int], sizes: list[int]
) -> None:
    chat = Conversation(app, platform="mx", inline_buttons=False)
    user = f"vol{next(_people)}"
    await onboard(chat, user, "de")
    steps = iter(range(12))

    async def then(label: str) -> None:
        step = next(steps, 11)
        for _ in range(pushes[step]):
            await push(app, user, sizes[step])
        await chat.sender.drain()
        await answer(chat, user, label)

    await then(t("de", "Sign up as a volunteer"))
    for activity in sorted(activities):
        await then(t("de", ACTIVITIES[activity]))
    await then(t("de", "Done"))
    await then("Deutsch")
    await then(t("de", "Done"))
    await then(t("de", "native or fluent"))
    await then("Südstadt")
    await then("Dienstag")
    await then(t("de", "Done"))
    await then(t("de", "mornings"))
    await then(t("de", "Done"))
    await then(t("de", "Regularly"))
    await then(limit)
    await then("22:00–07:00")
    await then(t("de", "Save"))
    async with app.session_factory() as session:
        person = await session.scalar(select(Person).where(Person.platform_user_id == user))
        assert person is not None
        profile = await session.get(VolunteerProfile, person.id)
        assert profile is not None, chat.transcript(user)
        assert {a.activity for a in profile.activities} == activities
        assert profile.max_offers_per_week == int(limit)
        assert (profile.district, profile.quiet_start, profile.quiet_end) == ("Südstadt", 22, 7)
        assert profile.status == "active"  # no push was pressed by a typed answer
