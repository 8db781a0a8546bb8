"""How Lotse's messages look in Matrix, and how a reply's text is read back: pure functions of
a message or an event, kept apart from the client, the sync loop and the outbox sender."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from bot.core.types import Format, OutgoingMessage
from bot.transports.text import numbered_buttons, plain_text

if TYPE_CHECKING:
    from nio import RoomMessageText


def render_html(message: OutgoingMessage) -> str:
    """Our text as Matrix HTML: people's text escaped, buttons as a numbered list."""
    body = message.text if message.format == Format.HTML else html.escape(message.text)
    body = body.replace("\n", "<br>")
    lines = numbered_buttons(message)
    if lines:  # the handles as typed back, never a list numbered by the client
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines)
        body += f"<ul>{items}</ul>"
    return body


#: Our messages carry their options in the event, so a reply to one can answer it.
OPTIONS_KEY = "org.lotse.options"


def options_of(message: OutgoingMessage) -> list[list[str]]:
    """(handle, label) of each option, as shown (position when the core gave no handle)."""
    buttons = [b for row in message.buttons for b in row]
    return [[b.handle or str(n), b.label] for n, b in enumerate(buttons, start=1)]


def render_plain(message: OutgoingMessage) -> str:
    lines = [plain_text(message), *numbered_buttons(message)]
    return "\n".join(lines)


def contact_html(user_id: str, name: str) -> str:
    """A matrix.to link, which every Matrix client opens."""
    return (
        f'<a href="https://matrix.to/#/{html.escape(user_id)}">{html.escape(name)}</a> '
        f"({html.escape(user_id)})"
    )


def replied_event_id(event: RoomMessageText) -> str | None:
    relates = (event.source.get("content") or {}).get("m.relates_to") or {}
    replied = (relates.get("m.in_reply_to") or {}).get("event_id")
    return replied if isinstance(replied, str) and replied.startswith("$") else None


def without_reply_fallback(body: str) -> str:
    """Older clients quote the replied-to message at the top of a reply ("> <@a:b> text",
    then a blank line); the spec says to strip it, so that "/report" is seen as a command."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:])
