"""What an update costs the database: the statements that make it cheap stay few."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from bot.app import App
from tests.support import Conversation, t


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        # the test transport looks for queued messages; on PostgreSQL the flood counter shared
        # by all processes is one upsert of its own before the update is handled
        if "FROM outbox" not in statement and "flood_buckets" not in statement:
            seen.append(" ".join(statement.split()))

    engine = app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_step_of_the_sign_up_is_one_load_and_the_writes(
    chat: Conversation, app: App
) -> None:
    await chat.say("mara", "/start", lang="de")
    with statements(app) as seen:
        await chat.press("mara", "Deutsch")  # a button: its token comes with the update's load
    selects = [s for s in seen if s.startswith("SELECT")]
    assert len(selects) == 1 and "button_tokens" in selects[0]
    assert chat.last("mara").text.startswith(t("de", "Privacy notice (version {version})")[:8])


async def test_an_answer_by_number_needs_no_token_lookup(app: App) -> None:
    numbers = Conversation(app, platform="numbers", inline_buttons=False)
    await numbers.say("ali", "/start", lang="fa")
    with statements(app) as seen:
        await numbers.say("ali", "1")  # the first language of the keyboard
    assert [s for s in seen if s.startswith("SELECT")] == [seen[0]]
    assert not [s for s in seen if "INTO button_tokens" in s]
