"""`productreel check` on a machine without the ffprobe binary still runs every check (probing is PyAV)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from typer.testing import CliRunner


def _hide_ffprobe(monkeypatch) -> list[str]:
    """Make ffprobe unfindable and unrunnable, however it is looked for; returns the attempts made."""
    attempts: list[str] = []
    real_which, real_popen = shutil.which, subprocess.Popen

    def which(cmd, *args, **kw):
        if os.path.basename(str(cmd)).startswith("ffprobe"):
            attempts.append(f"which {cmd}")
            return None
        return real_which(cmd, *args, **kw)

    class Popen(real_popen):
        def __init__(self, args, *a, **kw):
            argv0 = args if isinstance(args, (str, bytes, os.PathLike)) else args[0]
            if os.path.basename(os.fsdecode(argv0)).split()[0].startswith("ffprobe"):
                attempts.append(f"run {argv0}")
                raise FileNotFoundError(2, "No such file or directory", os.fsdecode(argv0))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(shutil, "which", which)
    monkeypatch.setattr(subprocess, "Popen", Popen)
    # Only the interpreter's own folder on PATH: no /usr/bin, where Debian's ffprobe lives.
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    return attempts


def test_check_runs_every_check_without_ffprobe(clip_factory, monkeypatch):
    # Quiet audio (AUD-1) and no faststart (SPEC-1) are findings only a probed file can give.
    clip = clip_factory(audio_db=-32.0, extra_args=["-movflags", "-faststart"])
    attempts = _hide_ffprobe(monkeypatch)
    from flows.cli import app

    result = CliRunner().invoke(app, ["check", str(clip), "--market", "us", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    messages = {f["rule"]: f["message"] for f in data["findings"]}
    assert not any("unreadable" in m for m in messages.values()), messages
    assert "faststart" in messages.get("SPEC-1", ""), messages
    assert "too quiet" in messages.get("AUD-1", ""), messages
    assert attempts == []  # nothing even looked for the binary
