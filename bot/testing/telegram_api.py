"""A fake Telegram Bot API server: real HTTP on a loopback port, checked against the official API.

Every request is validated against `tests/data/telegram-bot-api.json` (the Bot API as data):
the method must exist, every parameter must be a known field of the right type, required ones
must be present, texts must fit 4096 characters and `callback_data` 64 bytes. Violations are
answered with 400 and collected in `violations`, which tests assert to be empty.

It keeps chats, users and messages, hands out updates to long polling, can inject 429 (with
`retry_after`), 5xx, 403 and slow answers, can enforce Telegram's send limits itself, and
records the time of every message sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

SEND_METHODS = {"sendMessage", "sendDocument", "sendPoll", "sendPhoto"}
_TAG = re.compile(r"<[^>]+>")


def find_api_json() -> Path:
    """The Bot API description: $LOTSE_BOT_API_JSON, else the copy kept in the repository
    (tests/data, with its source and licence beside it), so a fresh clone needs nothing else."""
    import os

    if os.environ.get("LOTSE_BOT_API_JSON"):
        return Path(os.environ["LOTSE_BOT_API_JSON"])
    return Path(__file__).resolve().parents[2] / "tests" / "data" / "telegram-bot-api.json"


class Schema:
    """The Bot API's methods and types, and a checker for parameters."""

    def __init__(self, path: Path | None = None) -> None:
        data = json.loads((path or find_api_json()).read_text(encoding="utf-8"))
        self.methods: dict[str, Any] = data["methods"]
        self.types: dict[str, Any] = data["types"]

    def check(self, method: str, params: dict[str, Any]) -> list[str]:
        spec = self.methods.get(method)
        if spec is None:
            return [f"unknown method {method}"]
        problems: list[str] = []
        fields = {f["name"]: f for f in spec.get("fields", [])}
        for name, value in params.items():
            if name not in fields:
                problems.append(f"{method}: unknown parameter {name}")
                continue
            problems += self._value(f"{method}.{name}", value, fields[name]["types"])
        for name, f in fields.items():
            if f["required"] and name not in params:
                problems.append(f"{method}: required parameter {name} missing")
        for name in ("text", "caption"):
            if isinstance(params.get(name), str):
                limit = 4096 if name == "text" else 1024
                shown = visible_length(params[name], params.get("parse_mode"))
                if shown > limit or (name == "text" and shown == 0):
                    problems.append(f"{method}.{name}: {shown} characters (1-{limit} allowed)")
        return problems

    def _value(self, where: str, value: Any, types: list[str]) -> list[str]:
        attempts = [self._one(where, value, t) for t in types]
        if any(not a for a in attempts):
            return []
        return min(attempts, key=len)

    def _one(self, where: str, value: Any, type_name: str) -> list[str]:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{where}: expected {type_name}"]
            inner = type_name[len("Array of ") :]
            return [
                p
                for i, item in enumerate(value)
                for p in self._value(f"{where}[{i}]", item, [inner])
            ]
        simple = {
            "String": lambda v: isinstance(v, str),
            "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "Boolean": lambda v: isinstance(v, bool),
            "True": lambda v: v is True,
            "InputFile": lambda v: isinstance(v, bytes | FileField),
        }
        if type_name in simple:
            return [] if simple[type_name](value) else [f"{where}: expected {type_name}"]
        spec = self.types.get(type_name)
        if spec is None:
            return [f"{where}: unknown type {type_name}"]
        if spec.get("subtypes"):
            return self._value(where, value, spec["subtypes"])
        if not isinstance(value, dict):
            return [f"{where}: expected {type_name} object"]
        fields = {f["name"]: f for f in spec.get("fields", [])}
        problems = [f"{where}: {type_name} has no field {k}" for k in value if k not in fields]
        problems += [
            f"{where}: {type_name}.{k} missing"
            for k, f in fields.items()
            if f["required"] and k not in value
        ]
        for k, v in value.items():
            if k in fields:
                problems += self._value(f"{where}.{k}", v, fields[k]["types"])
        if type_name == "InlineKeyboardButton" and isinstance(value.get("callback_data"), str):
            size = len(value["callback_data"].encode())
            if size > 64:
                problems.append(f"{where}.callback_data: {size} bytes (at most 64)")
        if isinstance(value.get("type"), str) and "type" in fields:
            expected = re.search(
                r"must be (\w+)",
                " ".join(
                    d
                    for f in spec["fields"]
                    if f["name"] == "type"
                    for d in [f.get("description", "")]
                ),
            )
            if expected and value["type"] != expected.group(1):
                problems.append(f"{where}: not a {type_name}")
        return problems


def visible_length(text: str, parse_mode: str | None) -> int:
    """Length after entity parsing, as Telegram counts it (UTF-16 code units)."""
    if parse_mode == "HTML":
        text = html.unescape(_TAG.sub("", text))
    return len(text.encode("utf-16-le")) // 2


@dataclass
class FileField:
    filename: str
    content: bytes


@dataclass
class Sent:
    """A message the bot sent, as the server recorded it."""

    method: str
    chat_id: int
    message_id: int
    params: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        raw = self.params.get("text") or self.params.get("caption") or ""
        if self.params.get("parse_mode") == "HTML":
            return html.unescape(_TAG.sub("", raw))
        return str(raw)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class Failure:
    method: str
    status: int
    chat_id: int | None = None
    retry_after: int | None = None
    description: str = ""
    times: int = 1


@dataclass
class Limits:
    """Telegram's documented send limits, enforced when `enforce_limits` is on."""

    overall_per_second: int = 30
    per_chat_seconds: float = 1.0
    group_per_minute: int = 20


@dataclass
class FakeBotAPI:
    token: str = "123456:TEST-token"
    username: str = "lotse_test_bot"
    bot_id: int = 123456
    enforce_limits: bool = False
    limits: Limits = field(default_factory=Limits)
    response_delay: float = 0.0
    poll_cap: float = 0.5  # longest a getUpdates call is held open
    #: Like Telegram: a bot may write privately only to people who have opened the chat
    #: (written to it privately). Off by default, as tests often start mid-story.
    private_needs_start: bool = False

    def __post_init__(self) -> None:
        self.schema = Schema()
        self.violations: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[Sent] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.edits: list[dict[str, Any]] = []
        self.admins: set[tuple[int, int]] = set()
        self.blocked: set[int] = set()
        self.started: set[int] = set()
        self.failures: list[Failure] = []
        self.too_many: int = 0
        self.hang_sends = False
        self._unhang = asyncio.Event()
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._new_update = asyncio.Event()
        self._chat_sends: dict[int, deque[float]] = defaultdict(deque)
        self._all_sends: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeBotAPI:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/_stats", self._stats)
        app.router.add_get("/_count", self._count)
        app.router.add_post("/_say", self._say)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self.unhang()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what people do ------------------------------------------------------------------
    def user(self, user_id: int, name: str = "", language: str | None = "de") -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": name or f"User{user_id}",
        }
        if language:
            user["language_code"] = language
        return user

    @staticmethod
    def chat(chat_id: int, title: str | None = None) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": title or f"Group{chat_id}"}

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()
        return update

    def says(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        language: str | None = "de",
        reply_to: Sent | None = None,
        name: str = "",
    ) -> dict[str, Any]:
        """A person writes a message (a private chat unless `chat_id` is a group)."""
        if chat_id is None or chat_id == user_id:
            self.started.add(user_id)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id or user_id),
            "from": self.user(user_id, name, language),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to.message_id,
                "date": int(reply_to.at),
                "chat": self.chat(reply_to.chat_id),
                "from": {
                    "id": self.bot_id,
                    "is_bot": True,
                    "first_name": "Lotse",
                    "username": self.username,
                },
                "text": reply_to.text or "…",
            }
            if reply_to.params.get("reply_markup"):  # Telegram includes the replied keyboard
                message["reply_to_message"]["reply_markup"] = reply_to.params["reply_markup"]
        return self.push({"message": message})

    def presses(
        self,
        user_id: int,
        sent: Sent,
        label: str,
        *,
        language: str | None = "de",
        data: str | None = None,
    ) -> dict[str, Any]:
        """A person taps the button with this label (or sends forged `data`)."""
        if data is None:
            matches = [d for text, d in sent.buttons if text == label]
            if not matches:
                raise AssertionError(f"no button {label!r} in {sent.buttons}")
            data = matches[0]
        return self.push(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": self.user(user_id, "", language),
                    "chat_instance": str(sent.chat_id),
                    "data": data,
                    "message": {
                        "message_id": sent.message_id,
                        "date": int(sent.at),
                        "chat": self.chat(sent.chat_id),
                        "text": sent.text or "…",
                    },
                }
            }
        )

    def bot_added(
        self, chat_id: int, by: int, title: str = "Helferkreis", language: str | None = "de"
    ) -> dict[str, Any]:
        bot = {"id": self.bot_id, "is_bot": True, "first_name": "Lotse", "username": self.username}
        return self.push(
            {
                "my_chat_member": {
                    "chat": self.chat(chat_id, title),
                    "from": self.user(by, "", language),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": bot},
                    "new_chat_member": {"status": "member", "user": bot},
                }
            }
        )

    def fail(
        self,
        method: str,
        status: int,
        *,
        chat_id: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
        description: str = "",
    ) -> None:
        """Answer the next `times` matching calls with an error."""
        self.failures.append(
            Failure(
                method, status, chat_id, retry_after, description or f"injected {status}", times
            )
        )

    def hang(self) -> None:
        """From now on, sends get no answer and are not carried out (a network black hole)."""
        self._unhang.clear()
        self.hang_sends = True

    def unhang(self) -> None:
        self.hang_sends = False
        self._unhang.set()

    # --- reading what the bot did ---------------------------------------------------------
    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the bot")
            await asyncio.sleep(0.02)

    async def wait_sent(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[Sent]:
        await self.wait_for(lambda: len(self.sent_to(chat_id)) >= count, timeout)
        return self.sent_to(chat_id)

    # --- HTTP ------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    params[part.name] = FileField(part.filename, await part.read())
                else:
                    params[part.name] = await part.text()
        else:
            params = dict(await request.post())
            params.update(request.query)
        for key, value in list(params.items()):
            if isinstance(value, str) and (value[:1] in "[{" or value in ("true", "false")):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
            elif (
                isinstance(value, str)
                and re.fullmatch(r"-?\d+", value)
                and key not in ("text", "callback_query_id", "caption", "url", "secret_token")
            ):
                params[key] = int(value)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value[len("attach://") :], value)
        return params

    def _error(
        self, status: int, description: str, retry_after: int | None = None
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        params = await self._params(request)
        self.requests.append((method, params))
        problems = self.schema.check(method, params)
        if problems:
            self.violations += problems
            return self._error(400, "Bad Request: " + "; ".join(problems))
        if self.response_delay and method != "getUpdates":
            await asyncio.sleep(self.response_delay)
        chat_id = params.get("chat_id")
        for failure in self.failures:
            if (
                failure.times > 0
                and failure.method == method
                and (failure.chat_id is None or failure.chat_id == chat_id)
            ):
                failure.times -= 1
                return self._error(failure.status, failure.description, failure.retry_after)
        if method in SEND_METHODS:
            if self.hang_sends:
                # Like a request lost on the way: it is never carried out.
                await self._unhang.wait()
                return self._error(502, "Bad Gateway")
            if isinstance(chat_id, int) and chat_id in self.blocked:
                return self._error(403, "Forbidden: bot was blocked by the user")
            if (
                self.private_needs_start
                and isinstance(chat_id, int)
                and chat_id > 0
                and chat_id not in self.started
            ):
                return self._error(403, "Forbidden: bot can't initiate conversation with a user")
            if self.enforce_limits and (wait := self._over_limit(chat_id)):
                self.too_many += 1
                return self._error(429, f"Too Many Requests: retry after {wait}", wait)
        handler = getattr(self, f"_m_{method}", None)
        result = handler(params) if handler else True
        if asyncio.iscoroutine(result):
            result = await result
        return web.json_response({"ok": True, "result": result})

    async def _say(self, request: web.Request) -> web.Response:
        """Let a benchmark in another process make people write: [[user_id, text], …]."""
        for user_id, text in await request.json():
            self.says(int(user_id), str(text), language="de")
        return web.json_response({"ok": True})

    async def _stats(self, _request: web.Request) -> web.Response:
        """What was sent, for a benchmark that runs this server in another process."""
        return web.json_response(
            {
                "sent": [[s.chat_id, s.text, s.at] for s in self.sent],
                "too_many": self.too_many,
                "violations": self.violations,
            }
        )

    async def _count(self, _request: web.Request) -> web.Response:
        """How many messages were sent: cheap to ask often, unlike the whole list."""
        return web.json_response({"sent": len(self.sent), "too_many": self.too_many})

    def _over_limit(self, chat_id: Any) -> int:
        now = time.monotonic()
        while self._all_sends and now - self._all_sends[0] >= 1.0:
            self._all_sends.popleft()
        if len(self._all_sends) >= self.limits.overall_per_second:
            return 1
        sends = self._chat_sends[chat_id]
        if sends and now - sends[-1] < self.limits.per_chat_seconds:
            return 1
        if isinstance(chat_id, int) and chat_id < 0:
            recent = [t for t in sends if now - t < 60]
            if len(recent) >= self.limits.group_per_minute:
                return int(60 - (now - recent[0])) + 1
        return 0

    def _record(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        chat_id = params["chat_id"]
        self._all_sends.append(now)
        self._chat_sends[chat_id].append(now)
        sent = Sent(method, int(chat_id), next(self._message_ids), params, now)
        self.sent.append(sent)
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": self.chat(sent.chat_id),
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "Lotse",
                "username": self.username,
            },
        }
        if method == "sendMessage":
            message["text"] = sent.text
        elif method == "sendDocument":
            doc = params["document"]
            message["document"] = {
                "file_id": f"f{sent.message_id}",
                "file_unique_id": f"u{sent.message_id}",
                "file_name": getattr(doc, "filename", "file"),
            }
        return message

    # --- methods ---------------------------------------------------------------------------
    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Lotse",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout") or 0), self.poll_cap)
        if not self._updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        return self._updates[: int(params.get("limit") or 100)]

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._record("sendMessage", params)

    def _m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._record("sendDocument", params)

    def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._record("sendPhoto", params)
        message["photo"] = [
            {
                "file_id": f"p{message['message_id']}",
                "width": 700,
                "height": 400,
                "file_unique_id": f"q{message['message_id']}",
            }
        ]
        return message

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        self.callback_answers[str(params["callback_query_id"])] = params
        return True

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        self.edits.append(params)
        return {
            "message_id": params.get("message_id", 0),
            "date": int(time.time()),
            "chat": self.chat(int(params.get("chat_id", 0))),
        }

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        """The message now reads differently: the recorded one changes with it."""
        for sent in self.sent:
            if sent.message_id == params.get("message_id") and str(sent.chat_id) == str(
                params.get("chat_id")
            ):
                sent.params = {
                    **sent.params,
                    "text": params["text"],
                    "parse_mode": params.get("parse_mode"),
                    "reply_markup": params.get("reply_markup"),
                }
        return self._m_editMessageReplyMarkup(params)

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        scope = (params.get("scope") or {"type": "default"})["type"]
        self.commands[(scope, params.get("language_code", ""))] = params["commands"]
        return True

    def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.user(int(params["user_id"]))
        if (int(params["chat_id"]), int(params["user_id"])) in self.admins:
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = params
        return True

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True


async def serve(enforce_limits: bool) -> None:
    """Run the server until killed, printing its URL (for benchmarks in another process)."""
    server = await FakeBotAPI(enforce_limits=enforce_limits).start()
    print(server.url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(serve("--enforce-limits" in sys.argv))
