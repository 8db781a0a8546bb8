"""Test helpers: a controllable clock and a conversation driven through a fake transport.

The fake transport shows what a person would see: each chat's messages with their buttons.
People press buttons by label (as they would tap them), or type a number on transports that
show numbered options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.core.i18n import FSI, PDI, RLM
from bot.core.outbox import OutboxSender
from bot.core.types import (
    Actor,
    ButtonPress,
    Capabilities,
    Chat,
    ChatKind,
    Handled,
    Incoming,
    OutgoingMessage,
)
from bot.transports.text import plain_text


class Clock:
    """Now, under the test's control."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def visible(text: str) -> str:
    """Text as the eye reads it: without the invisible direction marks."""
    return text.replace(RLM, "").replace(FSI, "").replace(PDI, "")


@dataclass
class Seen:
    chat_id: str
    message: OutgoingMessage

    @property
    def text(self) -> str:
        return visible(plain_text(self.message))

    @property
    def buttons(self) -> list[str]:
        return [visible(b.label) for row in self.message.buttons for b in row]

    def token(self, label: str) -> str:
        for row in self.message.buttons:
            for button in row:
                if visible(button.label) == label:
                    return button.token
        raise AssertionError(f"no button {label!r} in {self.buttons}")


@dataclass
class Conversation:
    app: App
    platform: str = "fake"
    inline_buttons: bool = True
    log: list[Seen] = field(default_factory=list)
    languages: dict[str, str] = field(default_factory=dict)
    handled: list[Handled] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app.services.capabilities[self.platform] = Capabilities(
            inline_buttons=self.inline_buttons
        )
        self.app.services.group_admin_checks[self.platform] = self._is_admin
        self.admins: set[tuple[str, str]] = set()
        self.sender = OutboxSender(
            self.app.session_factory, self.platform, self._deliver, clock=self.app.services.clock
        )

    async def _is_admin(self, chat_id: str, user_id: str) -> bool:
        return (chat_id, user_id) in self.admins

    async def _deliver(self, message: OutgoingMessage) -> None:
        self.log.append(Seen(message.chat_id, message))

    def _chat(self, user: str, group: str | None) -> Chat:
        if group:
            return Chat(self.platform, f"#{group}", ChatKind.GROUP, group)
        return Chat(self.platform, user, ChatKind.PRIVATE)

    async def send(self, incoming: Incoming) -> list[Seen]:
        start = len(self.log)
        handled = await self.app.dispatcher.handle(incoming)
        self.handled.append(handled)
        for message in handled.all_messages(incoming.chat.chat_id):
            self.log.append(Seen(message.chat_id, message))
        await self.sender.drain()
        return self.log[start:]

    async def say(
        self,
        user: str,
        text: str,
        *,
        group: str | None = None,
        lang: str | None = None,
        reply_to_bot: bool = False,
        reply_to_user: str | None = None,
    ) -> list[Seen]:
        if lang:
            self.languages[user] = lang
        actor = Actor(self.platform, user, user.capitalize(), self.languages.get(user))
        return await self.send(
            Incoming(
                actor,
                self._chat(user, group),
                text=text,
                reply_to_bot=reply_to_bot,
                reply_to_user=reply_to_user,
            )
        )

    async def press(
        self, user: str, label: str, *, group: str | None = None, chat_id: str | None = None
    ) -> list[Seen]:
        """Tap the button with this label on the latest message in that chat that has it."""
        target = chat_id or (f"#{group}" if group else user)
        for seen in reversed(self.log):
            if seen.chat_id == target and label in seen.buttons:
                return await self.tap(user, seen.token(label), group=group)
        raise AssertionError(f"no button {label!r} in chat {target}: {self.transcript(target)}")

    async def tap(self, user: str, token: str, *, group: str | None = None) -> list[Seen]:
        actor = Actor(self.platform, user, user.capitalize(), self.languages.get(user))
        return await self.send(Incoming(actor, self._chat(user, group), button=ButtonPress(token)))

    def messages(self, chat_id: str) -> list[Seen]:
        return [seen for seen in self.log if seen.chat_id == chat_id]

    def last(self, chat_id: str) -> Seen:
        messages = self.messages(chat_id)
        assert messages, f"nothing was sent to {chat_id}"
        return messages[-1]

    def transcript(self, chat_id: str) -> str:
        return "\n---\n".join(
            seen.text + "".join(f"\n  [{b}]" for b in seen.buttons)
            for seen in self.messages(chat_id)
        )


def t(language: str, message: str, /, **fields: object) -> str:
    """The message as a reader of `language` sees it (translated, fields filled in)."""
    from bot.core.i18n import gettext, use_locale

    with use_locale(language):
        text = gettext(message)
    return visible(text.format(**fields) if fields else text)


def max_per_second(times: list[float]) -> int:
    """The most sends within any one second: what Telegram's overall limit counts."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def tn(language: str, singular: str, plural: str, n: int, /, **fields: object) -> str:
    """A message about a number of things, in the form `language` uses for `n` of them."""
    from bot.core.i18n import ngettext, use_locale

    with use_locale(language):
        text = ngettext(singular, plural, n)
    return visible(text.format(**fields) if fields else text)


async def onboard(
    chat: Conversation,
    user: str,
    language: str = "de",
    intent: str = "I want to volunteer",
    group: str | None = None,
) -> None:
    """Take someone through /start, language and consent quickly."""
    from bot.core.i18n import LANGUAGE_NAMES

    await chat.say(user, "/start", lang=language)
    await chat.press(user, LANGUAGE_NAMES[language])
    await chat.press(user, t(language, "I agree"))
    await chat.press(user, t(language, intent))


async def make_volunteer(
    app: App,
    user: str,
    *,
    platform: str = "fake",
    name: str | None = None,
    activities: tuple[str, ...] = ("accompany_authorities",),
    languages: dict[str, str] | None = None,
    district: str | None = "Südstadt",
    postcode: str | None = None,
    bits: int = (1 << 21) - 1,
    limit: int = 3,
    quiet: tuple[int, int] | None = None,
    paused: bool = False,
    language: str = "de",
) -> int:
    """A volunteer who signed up earlier (written straight to the database)."""
    from db.models import (
        Person,
        PersonRole,
        VolunteerActivity,
        VolunteerLanguage,
        VolunteerProfile,
    )

    now = app.services.clock()
    async with app.session_factory() as session:
        person = Person(
            platform=platform,
            platform_user_id=user,
            display_name=name or user.capitalize(),
            language=language,
            intent="volunteer",
            consent_version=2,
            consent_at=now,
            created_at=now,
            last_seen_at=now,
            roles=[PersonRole(role="volunteer", granted_at=now)],
        )
        session.add(person)
        await session.flush()
        session.add(
            VolunteerProfile(
                person_id=person.id,
                first_name=name or user.capitalize(),
                district=district,
                postcode=postcode,
                availability_bits=bits,
                max_offers_per_week=limit,
                quiet_start=quiet[0] if quiet else None,
                quiet_end=quiet[1] if quiet else None,
                status="paused" if paused else "active",
                activities=[VolunteerActivity(activity=a) for a in activities],
                languages=[
                    VolunteerLanguage(language=c, level=lv)
                    for c, lv in (languages or {"de": "native"}).items()
                ],
            )
        )
        await session.commit()
        return person.id


def confirmation_labels() -> set[str]:
    """ "Yes, do it" in every shipped language: a typed destructive choice asks with it, and
    drivers that stand for a tap on a real button answer it, as the tap would not ask."""
    from bot.core.i18n import SHIPPED_LANGUAGES

    return {t(language, "Yes, do it") for language in SHIPPED_LANGUAGES}
