"""Rendering helpers shared by transports that show text without real buttons."""

from __future__ import annotations

import html
import re

from bot.core.buttons import bare_label
from bot.core.types import Format, OutgoingMessage

_TAG = re.compile(r"<[^>]+>")


def plain_text(message: OutgoingMessage) -> str:
    """The message as plain text (our HTML subset stripped, entities decoded)."""
    if message.format == Format.HTML:
        return html.unescape(_TAG.sub("", message.text))
    return message.text


def without_isolates(text: str) -> str:
    """Terminals draw bidi isolate marks as visible boxes; chat apps use them invisibly."""
    return text.replace("\u2068", "").replace("\u2069", "")


def numbered_buttons(message: OutgoingMessage) -> list[str]:
    """`  [1] Label` lines: the person answers with the handle or the label.

    The handle is the core's (`1`, `1a`, or the label itself when it is a number: then the
    line is just `  [5]`); messages queued before handles existed are numbered by position.
    """
    buttons = [button for row in message.buttons for button in row]
    lines = []
    for number, button in enumerate(buttons, start=1):
        handle = button.handle or str(number)
        if bare_label(button.label) == handle:
            lines.append(f"  [{handle}]")
        else:
            lines.append(f"  [{handle}] {button.label}")
    return lines
