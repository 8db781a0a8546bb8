"""The terminal chat: try Lotse without a messenger account, and script it in tests and demos.

Input lines:  `NAME> text` (private chat of NAME with the bot), `NAME@GROUP> text` (NAME in
group GROUP), or plain `text` (the last speaker). A line ending in a backslash continues on the
next line, so a message of several lines (a poll's options, a broadcast) can be typed. Output: a
`[to NAME]` or `[to #GROUP]` header, the text, then buttons as `  [1] Label`; a file the bot sends
(a calendar entry, an export, a chart, `/mydata`) is written to `<data dir>/files/<chat>/` and
its path printed. Each message is handled completely, including the messages it causes for other
people, before the next one is read. With `deliver_every`, messages queued meanwhile (by the
scheduler: reminders, digests, poll results, the next matching round) are printed while the
person is still typing.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from bot.app import App
from bot.core.outbox import OutboxSender
from bot.core.types import Actor, Capabilities, Chat, ChatKind, Incoming, OutgoingMessage
from bot.transports.text import numbered_buttons, plain_text, without_isolates
from db.models import ChatRecord

PLATFORM = "console"
CAPABILITIES = Capabilities(inline_buttons=False, edits=False, native_polls=False, html=False)

_SPEAKER = re.compile(
    r"^(?P<name>[\w.\-]{1,64})(?:@(?P<group>[\w.\-]{1,64}))?>\s?(?P<text>.*)$", re.DOTALL
)
#: A line ending in this continues on the next one (the message gets a line break there).
CONTINUATION = "\\"
_UNSAFE_IN_FILENAME = re.compile(r"[^\w.\-]+")


def joined_lines(lines: Iterable[str]) -> Iterator[str]:
    """Input lines with continuations joined: `a \\` then `b` make one message of two lines."""
    pending: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line.endswith(CONTINUATION):
            pending.append(line[: -len(CONTINUATION)].rstrip())
            continue
        yield "\n".join([*pending, line])
        pending = []
    if pending:
        yield "\n".join(pending)


async def joined_lines_async(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    pending: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if line.endswith(CONTINUATION):
            pending.append(line[: -len(CONTINUATION)].rstrip())
            continue
        yield "\n".join([*pending, line])
        pending = []
    if pending:
        yield "\n".join(pending)


class ConsoleTransport:
    def __init__(
        self,
        app: App,
        *,
        user: str = "you",
        language: str | None = None,
        output: TextIO | None = None,
    ) -> None:
        self.app = app
        self.speaker = user
        self.group: str | None = None
        self.language = language
        self.output = output or sys.stdout
        self.files = app.settings.data_dir / "files"
        self.sender = OutboxSender(app.session_factory, PLATFORM, self.deliver)
        app.services.capabilities[PLATFORM] = CAPABILITIES
        app.services.group_admin_checks[PLATFORM] = self.is_group_admin
        app.dispatcher.unlimited_platforms.add(PLATFORM)
        self._queued = True  # deliver what waits from before we started
        self._draining = asyncio.Lock()  # a line's replies and a timed drain never interleave
        app.services.outbox_listeners.append(self._outbox_changed)

    def _outbox_changed(self) -> None:
        self._queued = True

    async def is_group_admin(self, chat_id: str, user_id: str) -> bool:
        """In the terminal chat, whoever spoke first in a group administers it."""
        async with self.app.session_factory() as session:
            creator = await session.scalar(
                select(ChatRecord.created_by).where(
                    ChatRecord.platform == PLATFORM, ChatRecord.platform_chat_id == chat_id
                )
            )
        return creator == user_id

    def parse(self, line: str) -> Incoming | None:
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            return None
        match = _SPEAKER.match(line)
        if match:
            self.speaker, self.group = match["name"], match["group"]
            text = match["text"]
        else:
            text = line
        actor = Actor(PLATFORM, self.speaker, self.speaker, self.language)
        if self.group:
            chat = Chat(PLATFORM, f"#{self.group}", ChatKind.GROUP, self.group)
        else:
            chat = Chat(PLATFORM, self.speaker, ChatKind.PRIVATE)
        return Incoming(actor, chat, text=text, raw=line)

    def save(self, message: OutgoingMessage) -> Path | None:
        """Write the message's file where the person can open it: files/<chat>/<name>.
        A second file of the same name gets a number, so nothing sent earlier is overwritten."""
        if message.attachment is None:
            return None
        folder = self.files / (_UNSAFE_IN_FILENAME.sub("_", message.chat_id).strip("._") or "chat")
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(message.attachment.filename).name
        stem, suffix = Path(name).stem or "file", Path(name).suffix
        stem = _UNSAFE_IN_FILENAME.sub("_", stem)
        suffix = _UNSAFE_IN_FILENAME.sub("", suffix)
        path, number = folder / f"{stem}{suffix}", 1
        while path.exists():
            number += 1
            path = folder / f"{stem}-{number}{suffix}"
        path.write_bytes(message.attachment.content)
        return path

    def render(self, message: OutgoingMessage, saved: Path | None = None) -> str:
        lines = [f"[to {message.chat_id}]", plain_text(message)]
        if message.attachment is not None:
            where = f": {saved}" if saved is not None else ""
            lines.append(
                f"  (file {message.attachment.filename}, "
                f"{len(message.attachment.content)} bytes{where})"
            )
        lines += numbered_buttons(message)
        return without_isolates("\n".join(lines)) + "\n"

    async def deliver(self, message: OutgoingMessage) -> None:
        self.output.write(self.render(message, self.save(message)))
        self.output.flush()

    async def handle_line(self, line: str) -> None:
        incoming = self.parse(line)
        if incoming is None:
            return
        async with self._draining:
            handled = await self.app.dispatcher.handle(incoming)
            for message in handled.all_messages(incoming.chat.chat_id):
                await self.deliver(message)
            if self._queued:
                self._queued = False
                await self.sender.drain()

    async def drain(self) -> int:
        """Print everything queued for terminal people that is due now."""
        async with self._draining:
            return await self.sender.drain()

    async def deliver_periodically(self, every: float) -> None:
        """Print what the scheduler queues while nobody types (until cancelled)."""
        while True:
            await asyncio.sleep(every)
            if await self.drain() and self.output is sys.stdout and sys.stdin.isatty():
                self.output.write("> ")  # the prompt again, below what was just printed
                self.output.flush()

    async def run(
        self,
        lines: AsyncIterator[str] | Iterable[str] | None = None,
        *,
        deliver_every: float | None = None,
    ) -> None:
        """Handle every line until the input ends; deliver what was queued before we started,
        and, with `deliver_every` seconds, what is queued meanwhile."""
        await self.drain()
        if lines is None:
            lines = _stdin_lines()
        ticker = (
            asyncio.create_task(self.deliver_periodically(deliver_every))
            if deliver_every
            else None
        )
        try:
            if isinstance(lines, AsyncIterator):
                async for line in joined_lines_async(lines):
                    await self.handle_line(line)
            else:
                for line in joined_lines(lines):
                    await self.handle_line(line)
        finally:
            if ticker is not None:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)


async def _stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            sys.stdout.write("> ")
            sys.stdout.flush()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line
