"""Lotse on Matrix against a real Synapse, with end-to-end encryption."""

from __future__ import annotations

import asyncio
import json
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
from nio import RoomSendError
from sqlalchemy import select

from bot.config import Settings
from bot.core.outbox import Parts, RetryLater, Unreachable
from bot.core.types import Attachment, OutgoingMessage, SentButton
from bot.transports.matrix import MatrixTransport, render_html, render_plain
from db.models import ChatRecord, Person, PersonRole, Report
from tests.conftest import start_matrix
from tests.drivers import shown_from_matrix
from tests.matrix_people import MatrixPerson
from tests.support import make_volunteer, t
from tests.synapse import Synapse

pytestmark = pytest.mark.slow


async def person(synapse: Synapse, name: str, tmp_path: Path) -> MatrixPerson:
    user_id = synapse.register(f"{name}{len(synapse.passwords)}")
    return await MatrixPerson(
        synapse.url, user_id, synapse.passwords[user_id], tmp_path / name
    ).start()


async def test_encrypted_direct_chat_and_replies_as_notices(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    anna = await person(synapse, "anna", tmp_path)
    try:
        room = await anna.create_room([matrix_bot.user_id], direct=True, encrypted=True)
        await anna.wait_for_member(room, matrix_bot.user_id)
        await anna.say(room, "!start")  # commands work with ! as well as /
        [welcome] = await anna.wait_replies(room, matrix_bot.user_id, 1, quiet=0.5)
        assert welcome.msgtype == "m.notice"
        assert welcome.formatted is not None and "<ul><li>[1] Deutsch</li>" in welcome.formatted
        assert anna.undecrypted == 0  # the bot shared its room key with Anna's device
        await anna.say(room, "English")  # the label works as well as the number
        replies = await anna.wait_replies(room, matrix_bot.user_id, 2, quiet=0.5)
        assert shown_from_matrix(replies[-1]).buttons == ["I agree", "No, thanks"]
        assert matrix_bot.client.rooms[room].encrypted
    finally:
        await anna.stop()


async def test_unencrypted_rooms_work_too(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    bert = await person(synapse, "bert", tmp_path)
    try:
        room = await bert.create_room([matrix_bot.user_id], direct=True, encrypted=False)
        await bert.wait_for_member(room, matrix_bot.user_id)
        await bert.say(room, "/help")
        [reply] = await bert.wait_replies(room, matrix_bot.user_id, 1)
        assert reply.body.startswith(t("de", "Here is what I can do:"))
    finally:
        await bert.stop()


async def test_a_restart_answers_what_arrived_meanwhile_exactly_once(
    synapse: Synapse, matrix_settings: Settings, tmp_path: Path
) -> None:
    bot, shutdown = await start_matrix(matrix_settings)
    device = bot.client.device_id
    anna = await person(synapse, "anna", tmp_path)
    try:
        room = await anna.create_room([bot.user_id], direct=True)
        await anna.wait_for_member(room, bot.user_id)
        await anna.say(room, "/help")
        await anna.wait_replies(room, bot.user_id, 1, quiet=0.5)
        await shutdown()
        await anna.say(room, "/privacy")
        await anna.say(room, "/cancel")
        await asyncio.sleep(0.5)
        assert len(anna.from_bot(room, bot.user_id)) == 1  # nobody is listening
        bot, shutdown = await start_matrix(matrix_settings)
        assert bot.client.device_id == device  # the same device and keys
        replies = await anna.wait_replies(room, bot.user_id, 3, quiet=2.0)
        bodies = [r.body for r in replies]
        assert len(bodies) == 3, bodies
        assert bodies[1].startswith(t("de", "Privacy notice (version {version})", version=2))
        assert bodies[2] == t("de", "There is nothing to cancel.")
        saved = json.loads((matrix_settings.data_dir / "matrix" / "credentials.json").read_text())
        assert saved["device_id"] == device
    finally:
        await anna.stop()
        await shutdown()


async def test_history_from_before_the_first_start_is_not_answered(
    synapse: Synapse, matrix_settings: Settings, tmp_path: Path
) -> None:
    anna = await person(synapse, "anna", tmp_path)
    bot_id = matrix_settings.matrix_user_id
    assert bot_id is not None
    try:
        room = await anna.create_room([bot_id], direct=True, encrypted=False)
        await anna.say(room, "/help")  # before the bot ever ran
        _bot, shutdown = await start_matrix(matrix_settings)
        try:
            await anna.wait_for_member(room, bot_id)
            await anna.say(room, "/cancel")
            replies = await anna.wait_replies(room, bot_id, 1, quiet=2.0)
            assert [r.body for r in replies] == [t("de", "There is nothing to cancel.")]
        finally:
            await shutdown()
    finally:
        await anna.stop()


async def test_a_kick_marks_the_room_unreachable(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    carl = await person(synapse, "carl", tmp_path)
    dora = await person(synapse, "dora", tmp_path)
    try:
        room = await carl.create_room([matrix_bot.user_id, dora.user_id], direct=False)
        await dora.join(room)
        await carl.wait_for_member(room, matrix_bot.user_id)
        await carl.say(room, "/help")
        await carl.wait_replies(room, matrix_bot.user_id, 1)
        await carl.client.room_kick(room, matrix_bot.user_id, "bye")
        for _ in range(100):
            async with matrix_bot.app.session_factory() as session:
                chat = await session.scalar(
                    select(ChatRecord).where(ChatRecord.platform_chat_id == room)
                )
            if chat is not None and chat.unreachable_at is not None:
                break
            await asyncio.sleep(0.1)
        assert chat is not None and chat.unreachable_at is not None
        with pytest.raises(Unreachable):
            await matrix_bot.send(OutgoingMessage(room, "still there?"))
    finally:
        await carl.stop()
        await dora.stop()


async def test_a_file_and_its_text_arrive_once_across_a_limit_and_a_lost_record(
    synapse: Synapse,
    matrix_bot: MatrixTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The text part is rate limited after the file went out: the retry sends only the text.
    Then its record is lost (a kill between "accepted" and "recorded"): sending it again with
    the same transaction id is deduplicated by the homeserver, so Anna sees it once."""
    anna = await person(synapse, "anna", tmp_path)
    try:
        room = await anna.create_room([matrix_bot.user_id], direct=True, encrypted=True)
        await anna.wait_for_member(room, matrix_bot.user_id)
        for _ in range(200):
            if room in matrix_bot.client.rooms:
                break
            await asyncio.sleep(0.05)
        message = OutgoingMessage(
            room,
            "Das habe ich über dich gespeichert.",
            attachment=Attachment("daten.json", b'{"name": "Anna"}', "application/json"),
            outbox_id=990_001,
        )
        real_send = matrix_bot.client.room_send
        calls = 0

        async def limited_once(*args: object, **kwargs: object) -> object:
            nonlocal calls
            calls += 1
            if calls == 2:
                return RoomSendError("Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=50)
            return await real_send(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(matrix_bot.client, "room_send", limited_once)
        parts = Parts()
        with pytest.raises(RetryLater):
            await matrix_bot.deliver(message, parts)
        assert parts.sent == 1
        await asyncio.sleep(0.1)
        await matrix_bot.deliver(message, parts)
        assert parts.sent == 2
        await matrix_bot.deliver(message, Parts(1))  # the text's record was lost
        replies = await anna.wait_replies(room, matrix_bot.user_id, 2, quiet=1.5)
        assert [r.msgtype for r in replies] == ["m.file", "m.notice"]
        assert replies[1].body == "Das habe ich über dich gespeichert."
        assert calls == 4  # file, refused text, text, the text again (deduplicated)
    finally:
        await anna.stop()


async def test_limit_exceeded_becomes_a_retry(
    matrix_bot: MatrixTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    room_id = "!somewhere:localhost"
    matrix_bot.client.rooms[room_id] = SimpleNamespace(encrypted=False)  # type: ignore[assignment]

    async def limited(*_args: object, **_kwargs: object) -> RoomSendError:
        return RoomSendError("Too Many Requests", "M_LIMIT_EXCEEDED", retry_after_ms=1500)

    monkeypatch.setattr(matrix_bot.client, "room_send", limited)
    with pytest.raises(RetryLater) as wait:
        await matrix_bot.deliver(OutgoingMessage(room_id, "hello"))
    assert wait.value.seconds == 1.5 and wait.value.counts
    # the limit is for the whole account: other rooms wait too, without counting a try
    with pytest.raises(RetryLater) as wait:
        await matrix_bot.deliver(OutgoingMessage(room_id, "another"))
    assert 0 < wait.value.seconds <= 1.5 and not wait.value.counts
    matrix_bot._paused_until = 0.0

    async def forbidden(*_args: object, **_kwargs: object) -> RoomSendError:
        return RoomSendError("You are not in this room", "M_FORBIDDEN")

    monkeypatch.setattr(matrix_bot.client, "room_send", forbidden)
    with pytest.raises(Unreachable):
        await matrix_bot.deliver(OutgoingMessage(room_id, "hello"))
    del matrix_bot.client.rooms[room_id]


async def test_one_failing_event_does_not_stop_the_others(
    matrix_bot: MatrixTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[str] = []

    async def on_event(room: object, event: SimpleNamespace) -> None:
        if event.body == "boom":
            raise RuntimeError("boom")
        handled.append(event.body)

    monkeypatch.setattr(matrix_bot, "_on_event", on_event)
    events = [SimpleNamespace(sender="@x:localhost", body=b) for b in ("a", "boom", "c")]
    room_id = "!r:localhost"
    matrix_bot.client.rooms[room_id] = SimpleNamespace(room_id=room_id)  # type: ignore[assignment]
    response = SimpleNamespace(
        rooms=SimpleNamespace(
            join={room_id: SimpleNamespace(timeline=SimpleNamespace(events=events))}
        )
    )
    await matrix_bot._handle_sync(response)  # type: ignore[arg-type]
    del matrix_bot.client.rooms[room_id]
    assert handled == ["a", "c"]


async def test_sync_errors_back_off_doubling(
    matrix_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import open_app

    app = await open_app(matrix_settings, migrate=False)
    transport = MatrixTransport(app, sync_timeout_ms=100)
    transport.backoff_start = 0.1
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def failing_sync(since: str | None) -> str | None:
        calls.append(loop.time())
        raise ConnectionError("homeserver down")

    monkeypatch.setattr(transport, "sync_once", failing_sync)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    await asyncio.sleep(1.8)
    stop.set()
    await task
    await app.close()
    gaps = [b - a for a, b in pairwise(calls)]
    assert len(calls) >= 4
    assert all(later >= 1.8 * earlier for earlier, later in pairwise(gaps))


async def test_report_by_replying_names_the_author_of_the_message(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    """In a group, /report sent as a reply to a message reports its author."""
    anna = await person(synapse, "anna", tmp_path)
    bert = await person(synapse, "bert", tmp_path)
    try:
        direct = await anna.create_room([matrix_bot.user_id], direct=True, encrypted=False)
        await anna.wait_for_member(direct, matrix_bot.user_id)
        await anna.say(direct, "/start")
        await anna.wait_replies(direct, matrix_bot.user_id, 1)
        await anna.say(direct, "1")  # Deutsch
        await anna.wait_replies(direct, matrix_bot.user_id, 2)
        await anna.say(direct, t("de", "I agree"))
        await anna.wait_replies(direct, matrix_bot.user_id, 3)
        group = await anna.create_room(
            [matrix_bot.user_id, bert.user_id], direct=False, encrypted=False, name="Helfer"
        )
        await bert.join(group)
        await anna.wait_for_member(group, matrix_bot.user_id)
        await anna.wait_for_member(group, bert.user_id)
        await bert.wait_for_member(group, bert.user_id)  # Bert's client knows the room
        rude = await bert.say(group, "something rude")
        await anna.say(group, f"> <{bert.user_id}> something rude\n\n/report", reply_to=rude)
        [thanks] = await anna.wait_replies(group, matrix_bot.user_id, 1)
        assert thanks.body == t(
            "de", "Thank you. The coordinators have been told and will look at it."
        )
        async with matrix_bot.app.session_factory() as session:
            report = await session.scalar(select(Report))
            author = await session.scalar(
                select(Person).where(Person.platform_user_id == bert.user_id)
            )
        assert report is not None and author is not None
        assert report.reported_person_id == author.id
    finally:
        await anna.stop()
        await bert.stop()


def test_a_reply_fallback_is_not_part_of_the_command() -> None:
    from bot.transports.matrix_render import without_reply_fallback

    assert without_reply_fallback("> <@b:x> rude\n> more\n\n/report spam") == "/report spam"
    assert without_reply_fallback("/report") == "/report"
    assert without_reply_fallback("> just a quote") == ""


def test_rendering_escapes_and_numbers_the_options() -> None:
    message = OutgoingMessage(
        "!r",
        "<script>alert(1)</script>\nzweite Zeile",
        ((SentButton("Ja & gern", "t1"), SentButton("Nein", "t2")),),
    )
    assert render_html(message) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;<br>zweite Zeile"
        "<ul><li>[1] Ja &amp; gern</li><li>[2] Nein</li></ul>"
    )
    assert render_plain(message).endswith("\n  [1] Ja & gern\n  [2] Nein")


async def test_a_report_asked_for_and_answered_arrives_once_without_a_name(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    """Anna sends /report alone and is asked what happened; Carla, a coordinator, answers her
    through the bot; the answer reaches Anna's direct room once and carries no name."""
    app = matrix_bot.app
    anna = await person(synapse, "anna", tmp_path)
    carla = await person(synapse, "carla", tmp_path)
    try:
        await make_volunteer(app, anna.user_id, platform="matrix", name="Anna", language="uk")
        carla_id = await make_volunteer(app, carla.user_id, platform="matrix", name="Carla")
        async with app.session_factory() as session:
            coordinator = await session.get(Person, carla_id)
            assert coordinator is not None
            coordinator.roles.append(
                PersonRole(role="coordinator", granted_at=app.services.clock())
            )
            await session.commit()
        rooms = {}
        for someone in (anna, carla):
            room = await someone.create_room([matrix_bot.user_id], direct=True)
            await someone.wait_for_member(room, matrix_bot.user_id)
            await someone.say(room, "/help")
            await someone.wait_replies(room, matrix_bot.user_id, 1, quiet=0.5)
            rooms[someone.user_id] = room
        to_anna, to_carla = rooms[anna.user_id], rooms[carla.user_id]
        await anna.say(to_anna, "/report")
        asked = (await anna.wait_replies(to_anna, matrix_bot.user_id, 2, quiet=0.5))[-1]
        assert asked.body == t(
            "uk",
            "What would you like to report to the coordinators? Please describe what "
            "happened in one message, or send /cancel to stop.",
        )
        await anna.say(to_anna, "Jemand verlangt Geld für die Begleitung zum Amt.")
        await anna.wait_replies(to_anna, matrix_bot.user_id, 3, quiet=0.5)
        notice = (await carla.wait_replies(to_carla, matrix_bot.user_id, 2, quiet=0.5))[-1]
        shown = shown_from_matrix(notice)
        assert "Jemand verlangt Geld" in shown.text
        handle = shown.handles[shown.buttons.index(t("de", "Answer the reporter"))]
        assert handle.endswith(("a", "b", "c"))  # a push: its own code, not the form's number
        await carla.say(to_carla, handle)
        await carla.wait_replies(to_carla, matrix_bot.user_id, 3, quiet=0.5)
        await carla.say(to_carla, "Danke, wir sprechen heute mit der Person.")
        done = (await carla.wait_replies(to_carla, matrix_bot.user_id, 4, quiet=0.5))[-1]
        assert done.body == t("de", "Your answer is on its way. It does not show your name.")
        await anna.wait_replies(to_anna, matrix_bot.user_id, 4, quiet=2.0)
        [answer] = anna.from_bot(to_anna, matrix_bot.user_id)[3:]
        assert answer.body.startswith(t("uk", "The coordinators answer your report:"))
        assert "Danke, wir sprechen heute mit der Person." in answer.body
        assert "Carla" not in answer.body and carla.user_id not in answer.body
    finally:
        await anna.stop()
        await carla.stop()
