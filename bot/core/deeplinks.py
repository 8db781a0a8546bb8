"""Deep links: `https://t.me/<bot>?start=<payload>` opens the bot at a given place.

A payload is `<prefix>` or `<prefix>_<argument>` (Telegram allows A–Z, a–z, 0–9, _ and -, up to
64 characters). It comes from outside, so it is checked here and its argument again by the
handler that owns the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.router import DeepLink, RouteTable

PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ParsedLink:
    link: DeepLink
    argument: str


def parse(routes: RouteTable, payload: str) -> ParsedLink | None:
    """The target of a payload, or None when it is malformed or names no known place."""
    if not PAYLOAD.match(payload):
        return None
    prefix, _, argument = payload.partition("_")
    link = routes.deep_links.get(prefix)
    return ParsedLink(link, argument) if link else None


def payload(prefix: str, argument: str | int = "") -> str:
    text = f"{prefix}_{argument}" if argument != "" else prefix
    if not PAYLOAD.match(text):
        raise ValueError(f"not a valid deep-link payload: {text!r}")
    return text
