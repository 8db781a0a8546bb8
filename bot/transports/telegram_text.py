"""Telegram HTML: escape what people wrote, and split long messages at paragraph boundaries."""

from __future__ import annotations

import html

from bot.core.types import Format, OutgoingMessage

MAX_TEXT = 4096


def to_html(message: OutgoingMessage) -> str:
    """Plain text is escaped entirely; our HTML replies escape people's text where built."""
    if message.format == Format.HTML:
        return message.text
    return html.escape(message.text, quote=False)


def _cut(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if len(text) <= limit:
        return [text]
    for separator in separators:
        cut = text.rfind(separator, 0, limit)
        if cut > 0:
            head, tail = text[:cut], text[cut + len(separator) :]
            return [head, *_cut(tail, limit, separators)]
    # one endless word: cut hard, but never inside an HTML entity such as &amp;
    cut = limit
    amp = text.rfind("&", max(0, limit - 8), limit)
    if amp != -1 and ";" not in text[amp:limit]:
        cut = amp
    return [text[:cut], *_cut(text[cut:], limit, separators)]


def split(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else lines, else words."""
    pieces = _cut(text, limit, ("\n\n", "\n", " "))
    return [piece for piece in (p.strip("\n") for p in pieces) if piece.strip()]
