"""Keeping delivery inside a messenger's send limits without stalling other chats.

Limits are counted from when earlier sends *finished* (the server has surely seen them by
then) to when the next one *starts*, so network jitter can never squeeze one more message
into the server's window. A chat that is busy gets a reserved slot and its message goes back to
the outbox until then, while the sender serves other chats; the overall limit is waited out in
place, as it is never more than about a second.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

SEND_NOW = 0.02  # a slot this close counts as now


@dataclass(frozen=True)
class SendLimits:
    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    margin: float = 0.01


class Pacer:
    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._last_done: dict[str, float] = {}
        self._group_done: dict[str, deque[float]] = defaultdict(deque)
        self._reserved_tail: dict[str, float] = {}
        self._reserved: dict[int, float] = {}
        self._busy: set[str] = set()
        self._recent: deque[float] = deque()
        self._in_flight = 0
        self._changed = asyncio.Condition()
        #: Waiters for an overall slot queue here, first come first served, and only the
        #: first of them watches `_changed`: with dozens of updates waiting for a slot, a
        #: freed slot would otherwise wake every one of them to find it taken.
        self._queue = asyncio.Lock()

    # --- per chat ------------------------------------------------------------------------
    def _earliest(self, chat_id: str, is_group: bool) -> float:
        limits = self.limits
        earliest = self.clock()
        if chat_id in self._last_done:
            earliest = max(
                earliest, self._last_done[chat_id] + limits.per_chat_interval + limits.margin
            )
        if is_group:
            done = self._group_done[chat_id]
            while done and done[0] < earliest - 60 - limits.margin:
                done.popleft()
            if len(done) >= limits.group_per_minute:
                earliest = max(earliest, done[-limits.group_per_minute] + 60 + limits.margin)
        return earliest

    def wait_for_chat(self, chat_id: str, is_group: bool, message_id: int | None) -> float:
        """Seconds until this message may go to its chat; 0 means now (the chat is taken)."""
        now = self.clock()
        earliest = self._earliest(chat_id, is_group)
        reserved = self._reserved.pop(message_id, None) if message_id is not None else None
        if reserved is None:
            tail = self._reserved_tail.get(chat_id)
            if tail is not None and tail > now:
                earliest = max(earliest, tail + self.limits.per_chat_interval + self.limits.margin)
        else:
            earliest = max(earliest, reserved)
        if earliest - now <= SEND_NOW and chat_id not in self._busy:
            self._busy.add(chat_id)
            return 0.0
        if is_group:  # a group slot is also bounded by its per-minute window
            earliest = max(earliest, now + SEND_NOW)
        if message_id is not None:
            self._reserved[message_id] = earliest
            self._reserved_tail[chat_id] = max(self._reserved_tail.get(chat_id, 0.0), earliest)
        return max(earliest - now, SEND_NOW)

    def block(self, chat_id: str, seconds: float) -> None:
        """The platform said wait (429): nothing more to this chat until then."""
        self._last_done[chat_id] = max(
            self._last_done.get(chat_id, 0.0),
            self.clock() + seconds - self.limits.per_chat_interval,
        )

    def chat_done(self, chat_id: str, is_group: bool) -> None:
        now = self.clock()
        self._busy.discard(chat_id)
        # never earlier than a wait the platform asked for (`block`)
        self._last_done[chat_id] = max(self._last_done.get(chat_id, 0.0), now)
        if is_group:
            self._group_done[chat_id].append(now)

    # --- overall -------------------------------------------------------------------------
    @asynccontextmanager
    async def overall_slot(self) -> AsyncIterator[None]:
        """Hold one of the overall sends per second while the request is under way."""
        limit = self.limits.overall_per_second
        async with self._queue, self._changed:
            while True:
                now = self.clock()
                while self._recent and now - self._recent[0] >= 1.0 + self.limits.margin:
                    self._recent.popleft()
                if self._in_flight + len(self._recent) < limit:
                    self._in_flight += 1
                    break
                timeout = (
                    1.0 + self.limits.margin - (now - self._recent[0]) if self._recent else None
                )
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._recent.append(self.clock())
                self._changed.notify_all()
