"""Seats of one event occurrence: who comes, who waits, and who moves up when a seat frees.

Counting the free seats and taking one are two statements, so two people pressing for the
last seat at once could both see it free. `hold_seats` touches the event's row first (an
UPDATE that changes nothing): on PostgreSQL the second transaction waits for the first's row
lock, on SQLite for the database's write lock, and then counts again after the first has
committed. Everyone who changes who sits (register, cancel, move up) holds it first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from db.models import Attendance, Event

UNLIMITED = 1 << 30


async def hold_seats(session: AsyncSession, event_id: int) -> None:
    """Serialise seat changes of one event until this transaction ends."""
    await session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(capacity=Event.capacity)
        .execution_options(synchronize_session=False)
    )


async def coming_count(session: AsyncSession, event_id: int, occurrence: datetime) -> int:
    """How many seats of the occurrence are taken."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(Attendance)
            .where(
                Attendance.event_id == event_id,
                Attendance.occurrence == occurrence,
                Attendance.coming.is_(True),
            )
        )
        or 0
    )


def _waiting(event_id: int, occurrence: datetime) -> list[ColumnElement[bool]]:
    return [
        Attendance.event_id == event_id,
        Attendance.occurrence == occurrence,
        Attendance.coming.is_(False),
        Attendance.waiting_since.is_not(None),
    ]


async def waiting_count(session: AsyncSession, event_id: int, occurrence: datetime) -> int:
    """How many people wait for a seat of the occurrence."""
    return (
        await session.scalar(
            select(func.count()).select_from(Attendance).where(*_waiting(event_id, occurrence))
        )
        or 0
    )


async def waiting_place(session: AsyncSession, row: Attendance) -> int:
    """The person's place on the waiting list, from 1: first come, first moved up."""
    assert row.waiting_since is not None
    ahead = await session.scalar(
        select(func.count())
        .select_from(Attendance)
        .where(
            *_waiting(row.event_id, row.occurrence),
            or_(
                Attendance.waiting_since < row.waiting_since,
                and_(Attendance.waiting_since == row.waiting_since, Attendance.id < row.id),
            ),
        )
    )
    return (ahead or 0) + 1


async def move_up(
    session: AsyncSession, event: Event, occurrence: datetime, now: datetime
) -> list[Attendance]:
    """Give every free seat to the first on the waiting list; returns who moved up.

    The caller holds the seats (`hold_seats`) and tells each of them, in the same
    transaction, so a move-up and its message are saved together or not at all."""
    await session.flush()
    free = (
        event.capacity - await coming_count(session, event.id, occurrence)
        if event.capacity
        else UNLIMITED  # the limit was lifted: everyone waiting comes
    )
    moved: list[Attendance] = []
    while free > 0:
        first = await session.scalar(
            select(Attendance)
            .where(*_waiting(event.id, occurrence))
            .order_by(Attendance.waiting_since, Attendance.id)
            .limit(1)
        )
        if first is None:
            break
        first.coming = first.remind = True
        first.waiting_since = None
        first.moved_up_at = now
        await session.flush()
        moved.append(first)
        free -= 1
    return moved
