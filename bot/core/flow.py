"""Multi-step conversations as small state machines.

A flow is a table of named states (`"onboarding.language"`), each with one function that asks
and one that handles the answer and returns the next state (or `END`). The state and the
answers collected so far live in the database, keyed by (platform, chat, user), so a restart in
the middle of a sign-up continues at the same step.

After a step has handled an answer, the engine asks the next state's question, with one
exception (`asks_again`): a free-text step that stays where it is after a typed answer has
already said what happens, and its whole question is not repeated.
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


def asks_again(
    *, state: str, next_state: str, typed: bool, free_text: bool, replied: bool
) -> bool:
    """Whether to ask `next_state`'s question after the step at `state` handled an answer.

    A step that read a typed answer as free text and stays at the same state has answered
    it itself: with what to fix ("That is too short"), or with "Sent." in a conversation with
    the team that goes on. Repeating its whole question after that reads as if the answer
    was lost. A pressed button that stays (an option toggled), a choice typed wrong (its
    options are shown again) and a step that said nothing (the same state with the next
    item, as a survey's questions) are asked again.
    """
    return next_state != state or not (typed and free_text and replied)
