"""The `lotse` command: run, chat, demo, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.core.i18n import SHIPPED_LANGUAGES

logger = logging.getLogger("lotse")

NOT_CONFIGURED = """\
No messenger is configured, so there is nothing for `lotse run` to connect to.

  Telegram: create a bot with @BotFather and set TELEGRAM_BOT_TOKEN=<token>
  Matrix:   set MATRIX_HOMESERVER, MATRIX_USER_ID and MATRIX_PASSWORD (or MATRIX_ACCESS_TOKEN)

Put them in the environment or in a .env file (see README.md).
To try Lotse right now in this terminal, run:  lotse chat   (or: make run)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lotse",
        description="Lotse: a chatbot for the local network of refugee aid "
        "(Telegram, Matrix and a terminal chat).",
    )
    parser.add_argument("--version", action="version", version=f"lotse {__version__}")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log on standard error",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="connect every configured messenger and the scheduler",
        description="Start every configured transport (Telegram, Matrix) and "
        "the scheduler. Upgrades the database schema first.",
    )
    run.add_argument(
        "--demo-chat",
        action="store_true",
        help="if no messenger is configured, load the demo network and open the "
        "terminal chat instead (what `make run` does)",
    )

    chat = sub.add_parser(
        "chat",
        help="talk to the bot in this terminal",
        description="Terminal chat. Lines are `NAME> text` (private chat), "
        "`NAME@GROUP> text` (group chat) or `text` (last speaker). Answer "
        "buttons with their number or label. Reads standard input, "
        "interactive or piped; exits at the end of input.",
    )
    chat.add_argument("--user", default="you", help="who speaks first (default: you)")
    chat.add_argument(
        "--lang",
        default=None,
        metavar="CODE",
        help="the language your messenger would report, e.g. de, ar, uk "
        f"(shipped: {', '.join(SHIPPED_LANGUAGES)})",
    )

    demo = sub.add_parser(
        "demo",
        help="load the demo network of the fictional city of Wiesenfeld",
        description="Load a fictional network (organisations and more) into the "
        "database. Safe to run twice: records are updated, not duplicated.",
    )
    demo.add_argument(
        "--reset",
        action="store_true",
        help="start over: delete everything stored (people, network, messages) and load "
        "the demo anew, without asking",
    )

    directory = sub.add_parser(
        "directory",
        help="import or export the referral directory (Open Referral HSDS)",
        description="Import or export the directory of services in the Open Referral HSDS 3 "
        "format: a folder of CSV files (organizations.csv, services.csv, locations.csv, ...) "
        "or one JSON file.",
    )
    directory_sub = directory.add_subparsers(
        dest="directory_command", metavar="ACTION", required=True
    )
    importing = directory_sub.add_parser(
        "import",
        help="replace the directory with an HSDS package (all or nothing)",
        description="Check every row of an HSDS CSV folder or JSON file; if all is valid, "
        "replace the directory with it, else report every error and change nothing.",
    )
    importing.add_argument("path", help="a folder of HSDS CSV files, or an HSDS .json file")
    exporting = directory_sub.add_parser(
        "export",
        help="write the directory as an HSDS package",
        description="Write the directory as an HSDS CSV folder (or one JSON file).",
    )
    exporting.add_argument("path", help="the folder (CSV) or file (JSON) to write")
    exporting.add_argument("--format", choices=["csv", "json"], default="csv")

    db = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser(
        "upgrade",
        help="upgrade the schema to the latest version (Alembic)",
        description="Upgrade the database schema to the latest version.",
    )
    return parser


def _configure_logging(level: str | None, default: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level or default),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


async def _chat(settings: Settings, user: str, language: str | None) -> None:
    from bot.app import open_app
    from bot.transports.console import ConsoleTransport

    app = await open_app(settings)
    try:
        await ConsoleTransport(app, user=user, language=language).run()
    finally:
        await app.close()


async def _demo(settings: Settings, reset: bool = False) -> None:
    from bot.app import open_app
    from lotse.demo import empty_database, load_demo
    from lotse.demo_chat import describe

    app = await open_app(settings)
    try:
        if reset:
            removed = await empty_database(app.session_factory)
            print(f"Database emptied: {removed} rows deleted.", file=sys.stderr)
        summary = await load_demo(app.session_factory, settings.tz, now=app.services.clock())
    finally:
        await app.close()
    print(describe(summary), file=sys.stderr)


async def _directory(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.app import open_app
    from handlers.referral.directory import (
        DirectoryImportError,
        export_package,
        import_package,
    )
    from handlers.referral.directory import search as directory_search

    app = await open_app(settings)
    path = Path(args.path)
    try:
        async with app.session_factory() as session:
            if args.directory_command == "export":
                written = await export_package(session, path, args.format)
                print(f"Directory exported: {len(written)} file(s) in {path}", file=sys.stderr)
                return 0
            if not path.exists():
                print(f"lotse: {path} does not exist", file=sys.stderr)
                return 2

            def progress(stage: str, done: int, total: int) -> None:
                of = f" of {total:,}" if total else ""
                print(f"\r{stage}: {done:,}{of} rows", end="", file=sys.stderr, flush=True)

            try:
                report = await import_package(
                    session,
                    path,
                    progress=progress,
                    max_bytes=settings.import_max_mb * 1024 * 1024,
                )
            except DirectoryImportError as exc:
                print(file=sys.stderr)
                for error in exc.errors:
                    print(error, file=sys.stderr)  # "file, row 3, name: is required"
                print(f"lotse: {len(exc.errors)} error(s); nothing was imported.", file=sys.stderr)
                return 1
            indexed = await directory_search.rebuild(session, commit=True)
            await session.commit()
            counts = ", ".join(f"{n} {name}" for name, n in report.counts.items())
            print(
                f"\nDirectory imported: {counts}; {indexed} services searchable.", file=sys.stderr
            )
            return 0
    finally:
        await app.close()


async def _upgrade(settings: Settings) -> None:
    from db.migrate import upgrade
    from db.session import create_engine

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("Database schema is up to date.", file=sys.stderr)


async def _run(settings: Settings) -> int:
    from bot.runner import run_bot

    return await run_bot(settings)


def _preflight(settings: Settings, args: argparse.Namespace) -> None:
    """Database and data folder must work before anything starts (see bot.preflight)."""
    from bot.preflight import check

    configured = settings.telegram_configured or settings.matrix_configured
    if args.command == "run" and not args.demo_chat and not configured:
        return  # nothing to start; main() says how to configure a messenger
    data_dir_used = args.command == "chat" or (args.command == "run" and args.demo_chat)
    asyncio.run(check(settings, data_dir_used=data_dir_used))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        _preflight(settings, args)
    except ConfigError as exc:
        print(f"lotse: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "chat":
        if args.lang is not None and args.lang not in SHIPPED_LANGUAGES:
            print(
                f"lotse: --lang: {args.lang!r} is not shipped "
                f"(one of {', '.join(SHIPPED_LANGUAGES)})",
                file=sys.stderr,
            )
            return 2
        _configure_logging(args.log_level, "WARNING")
        asyncio.run(_chat(settings, args.user, args.lang))
        return 0
    if args.command == "demo":
        _configure_logging(args.log_level, "WARNING")
        asyncio.run(_demo(settings, reset=args.reset))
        return 0
    if args.command == "directory":
        _configure_logging(args.log_level, "WARNING")
        return asyncio.run(_directory(settings, args))
    if args.command == "db":
        _configure_logging(args.log_level, "WARNING")
        asyncio.run(_upgrade(settings))
        return 0
    # run
    if not (settings.telegram_configured or settings.matrix_configured):
        if args.demo_chat:
            from lotse.demo_chat import run_demo_chat

            _configure_logging(args.log_level, "WARNING")
            asyncio.run(run_demo_chat(settings))
            return 0
        print(NOT_CONFIGURED, file=sys.stderr, end="")
        return 1
    _configure_logging(args.log_level, "INFO")
    try:
        return asyncio.run(_run(settings))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
