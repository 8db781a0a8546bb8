"""One way to talk to Lotse, whichever messenger carries the conversation.

The shared conversation suite is written against `Driver`; each transport has a driver that
plays the people on that platform and reports what they see (text and button labels).
"""

from __future__ import annotations

import asyncio
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.app import App
from bot.testing.telegram_api import FakeBotAPI, Sent
from bot.transports.matrix import MatrixTransport
from tests.matrix_people import MatrixPerson, Received
from tests.support import Conversation, confirmation_labels, visible
from tests.synapse import Synapse


@dataclass
class Shown:
    """A message as a person sees it: its text and the labels of its buttons."""

    text: str
    buttons: list[str]
    #: What is typed to choose each button where there are none (Matrix): `2`, `1a`, `5`.
    handles: list[str] = field(default_factory=list)


class Driver(Protocol):
    name: str

    @property
    def app(self) -> App: ...

    async def account(self, user: str) -> tuple[str, str]:
        """The person's (platform, platform user id), for stories that set up data first."""
        ...

    async def say(self, user: str, text: str, *, group: str | None = None) -> list[Shown]: ...

    async def press(self, user: str, label: str, *, group: str | None = None) -> list[Shown]: ...

    async def make_group(self, name: str, admin: str, members: list[str]) -> None: ...


@dataclass
class FakeDriver:
    chat: Conversation
    name: str = "fake"

    @property
    def app(self) -> App:
        return self.chat.app

    async def account(self, user: str) -> tuple[str, str]:
        return self.chat.platform, user

    @staticmethod
    def _shown(seen: list) -> list[Shown]:  # type: ignore[type-arg]
        return [Shown(s.text, s.buttons) for s in seen]

    async def say(self, user: str, text: str, *, group: str | None = None) -> list[Shown]:
        return self._shown(await self.chat.say(user, text, group=group))

    async def press(self, user: str, label: str, *, group: str | None = None) -> list[Shown]:
        return self._shown(await self.chat.press(user, label, group=group))

    async def make_group(self, name: str, admin: str, members: list[str]) -> None:
        self.chat.admins.add((f"#{name}", admin))


def _user_id(name: str) -> int:
    return 10_000 + zlib.crc32(name.encode()) % 1_000_000


@dataclass
class TelegramDriver:
    bot_api: FakeBotAPI
    app: App
    name: str = "telegram"
    groups: dict[str, int] = field(default_factory=dict)
    quiet: float = 0.3

    async def account(self, user: str) -> tuple[str, str]:
        return "telegram", str(_user_id(user))

    def _chat(self, user: str, group: str | None) -> int:
        return self.groups[group] if group else _user_id(user)

    async def _replies(self, chat_id: int, before: int) -> list[Shown]:
        await self.bot_api.wait_for(lambda: len(self.bot_api.sent_to(chat_id)) > before)
        seen = len(self.bot_api.sent_to(chat_id))
        while True:
            await asyncio.sleep(self.quiet)
            if len(self.bot_api.sent_to(chat_id)) == seen:
                break
            seen = len(self.bot_api.sent_to(chat_id))
        return [
            Shown(visible(s.text), [visible(b) for b, _ in s.buttons])
            for s in self.bot_api.sent_to(chat_id)[before:]
        ]

    async def say(self, user: str, text: str, *, group: str | None = None) -> list[Shown]:
        chat_id = self._chat(user, group)
        before = len(self.bot_api.sent_to(chat_id))
        self.bot_api.says(
            _user_id(user),
            text,
            chat_id=chat_id if group else None,
            language=None,
            name=user.capitalize(),
        )
        return await self._replies(chat_id, before)

    async def press(self, user: str, label: str, *, group: str | None = None) -> list[Shown]:
        chat_id = self._chat(user, group)
        target: Sent | None = None
        for sent in reversed(self.bot_api.sent_to(chat_id)):
            if any(visible(b) == label for b, _ in sent.buttons):
                target = sent
                break
        assert target is not None, f"no button {label!r} in chat {chat_id}"
        raw = next(b for b, _ in target.buttons if visible(b) == label)
        before = len(self.bot_api.sent_to(chat_id))
        self.bot_api.presses(_user_id(user), target, raw, language=None)
        return await self._replies(chat_id, before)

    async def make_group(self, name: str, admin: str, members: list[str]) -> None:
        chat_id = -1_000_000 - len(self.groups)
        self.groups[name] = chat_id
        self.bot_api.admins.add((chat_id, _user_id(admin)))
        self.bot_api.bot_added(chat_id, by=_user_id(admin), title=name, language=None)
        await self._replies(chat_id, 0)


_BUTTON = re.compile(r"^  \[(\d+[a-z]*|[a-z]+)\](?: (.*))?$")


def shown_from_matrix(received: Received) -> Shown:
    lines = received.body.split("\n")
    buttons: list[str] = []
    handles: list[str] = []
    while lines and (match := _BUTTON.match(lines[-1])):
        handles.insert(0, match.group(1))
        buttons.insert(
            0, visible(match.group(2) if match.group(2) is not None else match.group(1))
        )
        lines.pop()
    return Shown(visible("\n".join(lines)), buttons, handles)


@dataclass
class MatrixDriver:
    synapse: Synapse
    bot: MatrixTransport
    folder: Path
    name: str = "matrix"
    people: dict[str, MatrixPerson] = field(default_factory=dict)
    rooms: dict[tuple[str, str | None], str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    quiet: float = 0.8

    @property
    def bot_id(self) -> str:
        return self.bot.user_id

    @property
    def app(self) -> App:
        return self.bot.app

    async def account(self, user: str) -> tuple[str, str]:
        return "matrix", (await self.person(user)).user_id

    async def person(self, user: str) -> MatrixPerson:
        if user not in self.people:
            user_id = self.synapse.register(f"{user}-{id(self) % 10_000}")
            self.people[user] = await MatrixPerson(
                self.synapse.url, user_id, self.synapse.passwords[user_id], self.folder / user
            ).start()
        return self.people[user]

    async def room(self, user: str, group: str | None) -> tuple[MatrixPerson, str]:
        person = await self.person(user)
        if group:
            return person, self.groups[group]
        if (user, None) not in self.rooms:
            room_id = await person.create_room([self.bot_id], direct=True)
            await person.wait_for_member(room_id, self.bot_id)
            self.rooms[(user, None)] = room_id
        return person, self.rooms[(user, None)]

    async def say(self, user: str, text: str, *, group: str | None = None) -> list[Shown]:
        person, room_id = await self.room(user, group)
        before = len(person.from_bot(room_id, self.bot_id))
        await person.say(room_id, text)
        replies = await person.wait_replies(room_id, self.bot_id, before + 1, quiet=self.quiet)
        return [shown_from_matrix(r) for r in replies[before:]]

    async def press(self, user: str, label: str, *, group: str | None = None) -> list[Shown]:
        """Matrix has no buttons: the person types the option's handle (`2`, `1a`)."""
        person, room_id = await self.room(user, group)
        for received in reversed(person.from_bot(room_id, self.bot_id)):
            shown = shown_from_matrix(received)
            if label in shown.buttons:
                replies = await self.say(
                    user, shown.handles[shown.buttons.index(label)], group=group
                )
                return await self._confirmed(user, replies, group)
        raise AssertionError(f"no option {label!r} in {room_id}")

    async def _confirmed(self, user: str, replies: list[Shown], group: str | None) -> list[Shown]:
        """A typed destructive choice asks once more; a tap on a real button would not, so
        the driver confirms (tests of the confirmation itself talk to the bot directly)."""
        if replies and (yes := confirmation_labels() & set(replies[-1].buttons)):
            last = replies[-1]
            return await self.say(user, last.handles[last.buttons.index(yes.pop())], group=group)
        return replies

    async def make_group(self, name: str, admin: str, members: list[str]) -> None:
        owner = await self.person(admin)
        others = [await self.person(m) for m in members]
        room_id = await owner.create_room(
            [self.bot_id, *(p.user_id for p in others)], direct=False, name=name
        )
        for person in others:
            await person.join(room_id)
            await person.wait_for_member(room_id, person.user_id)
        everyone = [self.bot_id, *(p.user_id for p in others)]
        for user_id in everyone:
            await owner.wait_for_member(room_id, user_id)
        for _ in range(300):  # the bot must see the whole group before it is one
            room = self.bot.client.rooms.get(room_id)
            if room is not None and room.member_count >= len(everyone) + 1:
                break
            await asyncio.sleep(0.1)
        self.groups[name] = room_id

    async def close(self) -> None:
        for person in self.people.values():
            await person.stop()
