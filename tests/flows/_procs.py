"""Helpers for the flow tests that run the real CLI in subprocesses: its environment, starting it, its session's processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def session_processes(sid: int) -> list[str]:
    """The command lines of every live (not zombie) process in session ``sid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            found.append(cmd)
    return found


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without a configured Prefect API, with its own PREFECT_HOME under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", **extra)
    return env


def start_cli(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    """``productreel ARGS`` in a new session (so every process it starts can be found), output captured."""
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def wait_for(predicate, timeout: float = 180) -> bool:
    """Poll ``predicate`` every 0.2 s until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False
