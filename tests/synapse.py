"""A real Synapse homeserver for the tests, installed from PyPI into its own virtualenv.

Config: SQLite, a free loopback port, a registration shared secret, generous `rc_*` limits,
no federation and no trusted key servers. Users are registered with the shared secret.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("LOTSE_SYNAPSE_VENV", ROOT / ".venv-synapse"))
SECRET = "lotse-test-registration-secret"


class SynapseUnavailable(RuntimeError):
    """Synapse could not be installed or started here: the Matrix tests are skipped."""


def synapse_python() -> Path:
    """The Python of a virtualenv with matrix-synapse, installing it on first use."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".synapse-installed"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / ".venv-synapse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            # a half-made or dangling virtualenv (an interrupted install, a stale link) is
            # made again from scratch rather than failing on "file exists"
            if VENV.is_symlink() or VENV.is_file():
                VENV.unlink()
            elif VENV.exists():
                shutil.rmtree(VENV)
            try:
                subprocess.run(
                    [sys.executable, "-m", "venv", str(VENV)],
                    check=True,
                    capture_output=True,
                    timeout=300,
                )
                subprocess.run(
                    [str(python), "-m", "pip", "install", "--quiet", "matrix-synapse"],
                    check=True,
                    capture_output=True,
                    timeout=900,
                )
            except (subprocess.SubprocessError, OSError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                raise SynapseUnavailable(
                    f"matrix-synapse could not be installed: {exc} {detail[-500:]!r}"
                ) from exc
            stamp.touch()
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _limit(per_second: float = 1000, burst: int = 1000) -> dict[str, float]:
    return {"per_second": per_second, "burst_count": burst}


@dataclass
class Synapse:
    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, object]:
        f = self.folder
        return {
            "server_name": "localhost",
            "pid_file": str(f / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(f / "homeserver.db")}},
            "media_store_path": str(f / "media"),
            "signing_key_path": str(f / "signing.key"),
            "log_config": str(f / "log.yaml"),
            "registration_shared_secret": SECRET,
            "macaroon_secret_key": "lotse-test-macaroon",
            "form_secret": "lotse-test-form",
            "report_stats": False,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "url_preview_enabled": False,
            "enable_metrics": False,
            "presence": {"enabled": False},
            "rc_message": _limit(),
            "rc_registration": _limit(),
            "rc_login": {"address": _limit(), "account": _limit(), "failed_attempts": _limit()},
            "rc_joins": {"local": _limit(), "remote": _limit()},
            "rc_joins_per_room": _limit(),
            "rc_invites": {"per_room": _limit(), "per_user": _limit(), "per_issuer": _limit()},
            "rc_admin_redaction": _limit(),
            "rc_3pid_validation": _limit(),
            "rc_key_requests": _limit(),
            "rc_room_creation": _limit(),
        }

    def start(self) -> Synapse:
        python = synapse_python()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        (self.folder / "log.yaml").write_text(
            json.dumps(
                {
                    "version": 1,
                    "formatters": {
                        "f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "f",
                            "filename": str(self.folder / "homeserver.log"),
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config = self.folder / "homeserver.yaml"
        config.write_text(json.dumps(self.config(), indent=1))  # JSON is YAML
        subprocess.run(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        with open(self.folder / "stdout.log", "wb") as log:
            self.process = subprocess.Popen(
                [str(python), "-m", "synapse.app.homeserver", "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SynapseUnavailable(
                    "Synapse exited: " + (self.folder / "stdout.log").read_text()[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        raise SynapseUnavailable("Synapse did not start within 120 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def register(self, name: str, password: str | None = None, admin: bool = False) -> str:
        """Register @name:localhost with the shared secret; returns the user id."""
        password = password or f"pw-{name}-secret"
        url = f"{self.url}/_synapse/admin/v1/register"
        with urllib.request.urlopen(url, timeout=10) as response:
            nonce = json.load(response)["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        for part in (nonce, name, password, "admin" if admin else "notadmin"):
            mac.update(part.encode())
            if part != ("admin" if admin else "notadmin"):
                mac.update(b"\x00")
        body = json.dumps(
            {
                "nonce": nonce,
                "username": name,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
        ).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            user_id = json.load(response)["user_id"]
        self.passwords[user_id] = password
        return str(user_id)
