"""Rendering helpers shared by transports that show text without real buttons."""

from __future__ import annotations

import html
import re

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
    """`  [1] Label` lines: the person answers with the number or the label."""
    labels = [button.label for row in message.buttons for button in row]
    return [f"  [{number}] {label}" for number, label in enumerate(labels, start=1)]
