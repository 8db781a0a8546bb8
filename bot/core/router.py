"""Routers: each feature module declares its commands, button actions, flows, menu entries
and scheduled jobs.

`bot/app.py` includes one router per feature; the dispatcher looks things up in the merged
tables. Buttons route by action id, never by their (translated) label.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.flow import Flow

T = TypeVar("T")

if TYPE_CHECKING:
    from bot.core.context import Context

CommandHandler = Callable[["Context"], Awaitable[None]]
ButtonHandler = Callable[["Context", str], Awaitable[None]]
EventHandler = Callable[["Context"], Awaitable[None]]
DeepLinkHandler = Callable[["Context", str], Awaitable[None]]
#: A scheduled job: gets the services (database, clock, settings) and its stored arguments.
JobHandler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Job:
    """Work the scheduler runs for a feature: every so often, daily at a time (in the
    network's time zone), or only when a feature schedules it for a date (neither)."""

    name: str
    handler: JobHandler
    every: timedelta | None = None
    daily_at: tuple[int, int] | None = None  # (hour, minute)


@dataclass(frozen=True, slots=True)
class DeepLink:
    prefix: str
    handler: DeepLinkHandler
    needs_consent: bool = True


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: CommandHandler
    description: str  # an N_() string, translated where it is shown
    in_private: bool = True
    in_groups: bool = False
    needs_consent: bool = True
    listed: bool = True  # shown in /help and in the platform's command menu
    #: open to blocked people too: seeing and deleting one's data is a right (GDPR Art. 15/17)
    for_blocked: bool = False


@dataclass(frozen=True, slots=True)
class ButtonAction:
    action: str
    handler: ButtonHandler
    needs_consent: bool = True
    once: bool = False  # single use: a second press (or a replayed token) is refused
    for_blocked: bool = False  # see Command.for_blocked
    #: Undoes or refuses something (block, decline, pause, leave): chosen by a typed answer
    #: rather than a real button, it asks for a one-tap confirmation first. True, or which
    #: values are (e.g. only "decline:…" of a review).
    destructive: bool | Callable[[str], bool] = False

    def is_destructive(self, value: str) -> bool:
        return self.destructive(value) if callable(self.destructive) else self.destructive


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A main-menu button; `intents` empty means it is shown to everyone."""

    action: str
    label: str  # an N_() string
    order: int = 100
    intents: frozenset[str] = frozenset()
    value: str = ""


@dataclass
class Router:
    name: str
    commands: dict[str, Command] = field(default_factory=dict)
    buttons: dict[str, ButtonAction] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    menu: list[MenuEntry] = field(default_factory=list)
    events: dict[str, EventHandler] = field(default_factory=dict)
    deep_links: dict[str, DeepLink] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)

    def job(
        self,
        name: str,
        *,
        every: timedelta | None = None,
        daily_at: tuple[int, int] | None = None,
    ) -> Callable[[JobHandler], JobHandler]:
        """Declare a job as commands are declared; the scheduler runs what the routers name.

        The handler is called as `handler(services, *args)`. Stored jobs refer to the job's
        name, never to a module, so moving a feature does not orphan what was scheduled."""

        def register(handler: JobHandler) -> JobHandler:
            self.jobs[name] = Job(name, handler, every, daily_at)
            return handler

        return register

    def on_event(self, name: str) -> Callable[[EventHandler], EventHandler]:
        """Handle a chat event such as "bot_added" (the bot was added to a group)."""

        def register(handler: EventHandler) -> EventHandler:
            self.events[name] = handler
            return handler

        return register

    def deep_link(
        self, prefix: str, *, needs_consent: bool = True
    ) -> Callable[[DeepLinkHandler], DeepLinkHandler]:
        """Handle `/start <prefix>` or `/start <prefix>_<argument>` (a t.me link's payload)."""
        if not prefix.isalnum() or not prefix.isascii():
            raise ValueError(f"deep-link prefix {prefix!r} must be ASCII letters and digits")

        def register(handler: DeepLinkHandler) -> DeepLinkHandler:
            self.deep_links[prefix] = DeepLink(prefix, handler, needs_consent)
            return handler

        return register

    def command(
        self,
        name: str,
        description: str,
        *,
        in_private: bool = True,
        in_groups: bool = False,
        needs_consent: bool = True,
        listed: bool = True,
        for_blocked: bool = False,
    ) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            self.commands[name] = Command(
                name,
                handler,
                description,
                in_private,
                in_groups,
                needs_consent,
                listed,
                for_blocked,
            )
            return handler

        return register

    def button(
        self,
        action: str,
        *,
        needs_consent: bool = True,
        once: bool = False,
        for_blocked: bool = False,
        destructive: bool | Callable[[str], bool] = False,
    ) -> Callable[[ButtonHandler], ButtonHandler]:
        def register(handler: ButtonHandler) -> ButtonHandler:
            self.buttons[action] = ButtonAction(
                action, handler, needs_consent, once, for_blocked, destructive
            )
            return handler

        return register

    def add_flow(self, flow: Flow) -> Flow:
        self.flows[flow.name] = flow
        return flow

    def menu_entry(
        self,
        action: str,
        label: str,
        *,
        order: int = 100,
        intents: Iterable[str] = (),
        value: str = "",
    ) -> None:
        self.menu.append(MenuEntry(action, label, order, frozenset(intents), value))


def _merge(owner: str, table: dict[str, T], items: dict[str, T]) -> None:
    for key, item in items.items():
        if key in table:
            raise ValueError(f"{owner}: {key!r} is registered twice")
        table[key] = item


class RouteTable:
    """All routers merged; duplicate names are a programming error caught at start-up."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self.commands: dict[str, Command] = {}
        self.buttons: dict[str, ButtonAction] = {}
        self.flows: dict[str, Flow] = {}
        self.steps: dict[str, Flow] = {}
        self.menu: list[MenuEntry] = []
        self.events: dict[str, EventHandler] = {}
        self.deep_links: dict[str, DeepLink] = {}
        self.jobs: dict[str, Job] = {}
        for router in routers:
            _merge(router.name, self.jobs, router.jobs)
            _merge(router.name, self.commands, router.commands)
            _merge(router.name, self.buttons, router.buttons)
            _merge(router.name, self.flows, router.flows)
            _merge(router.name, self.events, router.events)
            _merge(router.name, self.deep_links, router.deep_links)
            for flow in router.flows.values():
                for state in flow.steps:
                    if state in self.steps or state in self.buttons:
                        raise ValueError(f"{router.name}: state {state!r} is registered twice")
                    self.steps[state] = flow
            self.menu.extend(router.menu)
        self.menu.sort(key=lambda entry: entry.order)

    def menu_for(self, intent: str | None) -> list[MenuEntry]:
        return [
            e for e in self.menu if not e.intents or (intent is not None and intent in e.intents)
        ]

    def listed_commands(self, *, group: bool) -> list[Command]:
        return [
            c
            for c in self.commands.values()
            if c.listed and (c.in_groups if group else c.in_private)
        ]


def declines(value: str) -> bool:
    """A review's "decline:<id>" is destructive, its "approve:<id>" is not."""
    return value.startswith("decline:")
