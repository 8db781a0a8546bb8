"""Row ids that arrive as text: in deep links, typed arguments and button values.

Anything a person can type or put in a link is checked before it reaches the database:
`str.isdigit()` accepts `²`, which `int()` refuses, and a number past the INTEGER column's
range failed the whole update (SQLite: OverflowError, PostgreSQL: out of int32 range).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

#: The largest id an INTEGER primary key holds on PostgreSQL (and far beyond any real count).
MAX_ID = 2**31 - 1


def parse_id(text: str) -> int | None:
    """The id written in `text`, or None if it is not a whole number in range.

    Decimal digits of any script count (`٣` is 3, as `int()` reads it); `²` does not.
    """
    if not text.isdecimal() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


async def get_row(session: AsyncSession, model: type[T], text: str) -> T | None:
    """The row of `model` whose id is written in `text`, or None."""
    key = parse_id(text)
    return None if key is None else await session.get(model, key)
