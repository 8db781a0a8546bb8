"""Multi-step conversations as small state machines.

A flow is a table of named states (`"onboarding.language"`), each with one function that asks
and one that handles the answer and returns the next state (or `END`). The state and the
answers collected so far live in the database, keyed by (platform, chat, user), so a restart in
the middle of a sign-up continues at the same step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.context import Context

END: None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What the person answered: free text, or the value of a button of this step."""

    text: str | None = None
    value: str | None = None

    @property
    def is_button(self) -> bool:
        return self.value is not None


Ask = Callable[["Context"], Awaitable[None]]
Handle = Callable[["Context", Answer], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Step:
    ask: Ask
    handle: Handle


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    first: str
    steps: Mapping[str, Step]

    def __post_init__(self) -> None:
        if self.first not in self.steps:
            raise ValueError(f"flow {self.name}: first state {self.first!r} has no step")
        for state in self.steps:
            if not state.startswith(self.name + "."):
                raise ValueError(f"flow {self.name}: state {state!r} must start with the name")
