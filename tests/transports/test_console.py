"""The terminal chat, driven as a subprocess with a piped script, as people and CI use it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import App
from bot.transports.console import ConsoleTransport
from tests.support import make_volunteer, t, visible

pytestmark = pytest.mark.slow


def lotse(
    args: list[str], data_dir: Path, stdin: str = "", extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LOTSE_", "TELEGRAM_", "MATRIX_"))
    }
    env.update(
        {
            "LOTSE_DATA_DIR": str(data_dir),
            "LOTSE_NETWORK_NAME": "Netzwerk Wiesenfeld",
            "LOTSE_COORDINATORS": "console:carla",
            **(extra_env or {}),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "lotse", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir,
        timeout=120,
    )


def test_piped_onboarding_in_german_and_a_group(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "# a comment, then an empty line",
            "",
            "anna> /start",
            "1",  # Deutsch
            t("de", "I agree"),  # the label works as well as the number
            "1",
            "bert@helfer> /help",
            "anna> /privacy",
        ]
    )
    result = lotse(["chat", "--lang", "de"], tmp_path, script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("[to anna]\n")
    assert "  [1] Deutsch\n  [2] English\n  [3] العربية" in out
    assert t("de", "What brings you here?") in out
    assert f"  [1] {t('de', 'I want to volunteer')}" in out
    assert "[to #helfer]\n" + t("de", "Here is what I can do:") in out
    assert out.count(t("de", "Privacy notice (version {version})", version=2)) == 2
    assert "Traceback" not in result.stderr


def test_a_second_run_continues_where_the_first_left_off(tmp_path: Path) -> None:
    first = lotse(["chat", "--user", "samir", "--lang", "ar"], tmp_path, "/start\n3\n")
    assert first.returncode == 0, first.stderr
    assert t("ar", "Do you agree?") in first.stdout.replace("\u200f", "")
    second = lotse(["chat", "--user", "samir"], tmp_path, "1\n3\n")
    assert second.returncode == 0, second.stderr
    out = second.stdout.replace("\u200f", "")
    assert t("ar", "What brings you here?") in out
    assert t("ar", "What would you like to do?") in out


def test_wrong_configuration_is_one_clear_line(tmp_path: Path) -> None:
    result = lotse(["chat"], tmp_path, "", {"LOTSE_TIMEZONE": "Mars/Olympus"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "lotse: configuration error: LOTSE_TIMEZONE: unknown time zone 'Mars/Olympus'"
    )
    result = lotse(["chat", "--lang", "xx"], tmp_path, "")
    assert result.returncode == 2 and "--lang" in result.stderr


def test_run_without_messengers_explains_how_to_configure(tmp_path: Path) -> None:
    result = lotse(["run"], tmp_path)
    assert result.returncode == 1
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "MATRIX_HOMESERVER" in result.stderr
    assert "lotse chat" in result.stderr


def test_run_with_demo_chat_opens_the_terminal_chat_on_the_demo(tmp_path: Path) -> None:
    result = lotse(["run", "--demo-chat"], tmp_path, "/start\n")
    assert result.returncode == 0, result.stderr
    assert "[to you]" in result.stdout and "Deutsch" in result.stdout
    assert "Demo network loaded: 18 organisations added" in result.stderr


@pytest.mark.parametrize("args", [[], ["run"], ["chat"], ["demo"], ["db"], ["db", "upgrade"]])
def test_help_for_every_command(tmp_path: Path, args: list[str]) -> None:
    result = lotse([*args, "--help"], tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: lotse")


def test_demo_is_idempotent_and_db_upgrade_works(tmp_path: Path) -> None:
    assert lotse(["db", "upgrade"], tmp_path).returncode == 0
    first = lotse(["demo"], tmp_path)
    second = lotse(["demo"], tmp_path)
    assert "18 organisations added, 0 updated" in first.stderr
    assert "0 organisations added, 18 updated" in second.stderr


def test_a_message_of_several_lines_and_files_saved_where_the_person_finds_them(
    tmp_path: Path,
) -> None:
    """A line ending in a backslash continues the message, so a coordinator can type a poll's
    options one per line; a file the bot sends is written under files/<chat>/ and its path
    printed."""
    script = "\n".join(
        [
            "carla> /start",
            "1",  # Deutsch
            "1",  # I agree
            "1",
            "/poll",
            "Sollen wir das Sommerfest im Park feiern?",
            "Ja, im Park \\",
            "Nein \\",
            "Lieber im Gemeindehaus",
            "/cancel",
            "/mydata",
        ]
    )
    result = lotse(["chat", "--lang", "de"], tmp_path, script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert t("de", "Who votes?") in out
    assert t("de", "Please write 2 to 8 different options, one per line.") not in out
    saved = sorted((tmp_path / "files" / "carla").glob("*.json"))
    assert len(saved) == 1, out
    assert f"bytes: {saved[0]})" in out
    assert '"platform_user_id": "carla"' in saved[0].read_text(encoding="utf-8")


def test_continued_lines_join_into_one_message() -> None:
    from bot.transports.console import joined_lines

    assert list(joined_lines(["a> one \\\n", "two\\\n", "three\n", "b> x\n"])) == [
        "a> one\ntwo\nthree",
        "b> x",
    ]


def test_a_second_make_run_keeps_what_people_changed_and_reset_starts_over(
    tmp_path: Path,
) -> None:
    """Lina pauses her offers while trying Lotse; the next `make run` finds her paused, not
    the demo reloaded over her choice. `lotse demo --reset` starts over, without asking."""
    # a typed "Pause offers" asks once more: "1" confirms
    first = lotse(
        ["run", "--demo-chat"], tmp_path, f"lina> /profile\n{t('de', 'Pause offers')}\n1\n"
    )
    assert first.returncode == 0, first.stderr
    assert "Demo network loaded: 18 organisations added" in first.stderr
    assert t("de", "Offers are paused. Resume them any time with /profile.") in first.stdout

    second = lotse(["run", "--demo-chat"], tmp_path, "lina> /profile\n")
    assert second.returncode == 0, second.stderr
    assert "Demo network loaded" not in second.stderr
    assert "kept as it is" in second.stderr
    assert t("de", "Offers are paused.") in second.stdout

    reset = lotse(["demo", "--reset"], tmp_path)
    assert reset.returncode == 0, reset.stderr
    assert "Database emptied:" in reset.stderr
    assert "Demo network loaded: 18 organisations added, 0 updated" in reset.stderr
    third = lotse(["run", "--demo-chat"], tmp_path, "lina> /profile\n")
    assert t("de", "You receive offers.") in third.stdout


def test_a_newcomers_first_words_in_the_terminal_get_the_language_choice(tmp_path: Path) -> None:
    result = lotse(["chat"], tmp_path, "olena> привіт\nali> 7\n")
    assert result.returncode == 0, result.stderr
    olena, ali = result.stdout.split("[to ali]")
    assert "  [1] Українська\n  [2] Русский\n" in olena
    assert t("uk", "Which language would you like me to use?") in olena
    assert "  [1] Deutsch\n" in ali and t("de", "Which language would you like me to use?") in ali


async def test_a_report_asked_for_and_answered_in_the_terminal_arrives_once(app: App) -> None:
    """Rita types /report alone, then what happened; Carla (a coordinator) picks "Answer the
    reporter" by its code and writes; Rita's answer is printed once, without Carla's name."""
    await make_volunteer(app, "rita", platform="console", name="Rita", language="uk")
    await make_volunteer(app, "carla", platform="console", name="Carla")  # LOTSE_COORDINATORS
    output = io.StringIO()
    console = ConsoleTransport(app, output=output)
    for line in (
        "carla> /help",
        "rita> /report",
        "Someone asks for money in the Südstadt group.",
        "carla> 1a",  # the notice (a push, so its own code): answer the reporter
        "Danke, wir kümmern uns heute darum.",
    ):
        await console.handle_line(line)
    await console.drain()
    await console.drain()  # nothing is left for a second round
    blocks = output.getvalue().split("[to ")
    to_rita = [visible(b.removeprefix("rita]\n")) for b in blocks if b.startswith("rita]\n")]
    assert to_rita[0].startswith(
        t(
            "uk",
            "What would you like to report to the coordinators? Please describe what "
            "happened in one message, or send /cancel to stop.",
        )
    )
    answers = [b for b in to_rita if "Danke, wir kümmern uns heute darum." in b]
    assert len(answers) == 1
    assert answers[0].startswith(t("uk", "The coordinators answer your report:"))
    assert "Carla" not in answers[0] and "carla" not in answers[0]
    assert t("de", "Your answer is on its way. It does not show your name.") in output.getvalue()
