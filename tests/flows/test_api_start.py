"""Which Prefect API a command runs against, and that every API a command starts is stopped on every exit path.

A flow command starts its embedded API before its heavy imports (``start_api_early``)
and ``embedded_api`` adopts it; a configured API or a running `productreel server`
(found through PREFECT_HOME/productreel-api.json) is used instead and nothing is
started. The unit tests use a stand-in server (a stdlib HTTP server answering
/health); the subprocess tests start the real one.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flows import runtime
from ._procs import cli_env, session_processes as _session, start_cli as _cli, wait_for as _wait_for


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"true" if self.path == "/api/health" else b"{}"
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    """A loopback HTTP server that answers /api/health like Prefect's API; yields its API URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


class FakeServer:
    """Stands in for runtime._Server: an API URL that answers, and a record of stop()."""

    started: list[FakeServer] = []
    url = ""

    def __init__(self, port: int = 0, *, env=None, ui: bool = False) -> None:
        self.url = FakeServer.url
        self.stopped = False
        self.env = env
        FakeServer.started.append(self)

    def wait_healthy(self, timeout: float) -> None:
        assert runtime._healthy(self.url)

    def stop(self, *, kill: bool = False) -> None:
        self.stopped = True


@pytest.fixture
def fake_server(monkeypatch, tmp_path, health_server):
    """runtime._Server replaced by FakeServer; a private PREFECT_HOME; no API configured."""
    FakeServer.started = []
    FakeServer.url = health_server
    monkeypatch.setattr(runtime, "_Server", FakeServer)
    monkeypatch.setattr(runtime, "_early", None)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    monkeypatch.setattr(runtime, "_api_url_configured", lambda: bool(os.environ.get("PREFECT_API_URL")))
    return FakeServer


def _write_local_api(url: str, pid: int | None = None) -> Path:
    state = runtime.prefect_home() / runtime.LOCAL_API_FILE
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"url": url, "pid": pid or os.getpid()}), encoding="utf-8")
    return state


@pytest.mark.parametrize("argv, starts", [
    (["run", "--catalog", "c.csv"], True),
    (["demo"], True),
    (["product-changed", "mug", "--catalog", "c.csv"], True),
    (["campaign", "--yes"], True),
    (["serve-webhooks"], True),
    (["run", "--help"], False),
    (["check", "clip.mp4", "-m", "de"], False),
    (["ingest", "c.csv"], False),
    (["server"], False),
    ([], False),
])
def test_only_flow_commands_start_the_api_early(fake_server, argv, starts):
    runtime.start_api_early(argv)
    assert len(fake_server.started) == int(starts)
    runtime.stop_early_api()
    assert all(s.stopped for s in fake_server.started)
    assert runtime._early is None


def test_nothing_starts_early_when_an_api_is_configured_or_a_local_one_runs(fake_server, monkeypatch, tmp_path,
                                                                              health_server):
    monkeypatch.setenv("PREFECT_API_URL", "http://team.example:4200/api")
    runtime.start_api_early(["run"])
    monkeypatch.delenv("PREFECT_API_URL")
    profiles = tmp_path / "home" / "profiles.toml"
    profiles.parent.mkdir(parents=True)
    profiles.write_text('active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://team.example:4200/api"\n')
    assert runtime.api_url_in_environment() == "http://team.example:4200/api"
    runtime.start_api_early(["run"])
    profiles.unlink()
    _write_local_api(health_server)
    runtime.start_api_early(["run"])
    assert fake_server.started == []


def test_embedded_api_adopts_the_early_server_and_stops_it(fake_server):
    runtime.start_api_early(["run"])
    early = fake_server.started[0]
    with runtime.embedded_api() as url:
        assert url == early.url and os.environ["PREFECT_API_URL"] == url
        assert not early.stopped
    assert early.stopped and len(fake_server.started) == 1
    assert "PREFECT_API_URL" not in os.environ


def test_embedded_api_stops_its_server_when_the_command_raises(fake_server):
    runtime.start_api_early(["demo"])
    with pytest.raises(RuntimeError, match="boom"), runtime.embedded_api():
        raise RuntimeError("boom")
    assert fake_server.started[0].stopped
    assert "PREFECT_API_URL" not in os.environ


def test_a_configured_api_is_used_and_the_early_server_stopped(fake_server, monkeypatch):
    runtime.start_api_early(["run"])
    monkeypatch.setenv("PREFECT_API_URL", "http://team.example:4200/api")  # e.g. from prefect.toml, seen only now
    with runtime.embedded_api() as url:
        assert url is None
    assert fake_server.started[0].stopped


def test_a_running_local_api_is_reused_and_left_running(fake_server, health_server):
    _write_local_api(health_server)
    with runtime.embedded_api() as url:
        assert url == health_server and os.environ["PREFECT_API_URL"] == health_server
    assert fake_server.started == []
    assert runtime._healthy(health_server)


def test_a_stale_local_api_file_is_ignored(fake_server, health_server):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write_local_api(health_server, pid=dead.pid)  # the server process is gone
    assert runtime.find_local_api() is None
    _write_local_api("http://127.0.0.1:9/api")  # alive, but nothing answers there
    assert runtime.find_local_api() is None
    (runtime.prefect_home() / runtime.LOCAL_API_FILE).write_text("not json")
    assert runtime.find_local_api() is None
    with runtime.embedded_api() as url:
        assert url == fake_server.started[0].url
    assert fake_server.started[0].stopped


# --- the real server, in subprocesses -------------------------------------------------------


@pytest.mark.slow
def test_a_bad_argument_stops_the_api_started_early(tmp_path):
    proc = _cli(["run", "--catalog", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "out")], cli_env(tmp_path))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "catalog file not found" in stderr
    assert _wait_for(lambda: not _session(proc.pid), timeout=15), _session(proc.pid)


@pytest.mark.slow
def test_productreel_server_is_found_by_a_run_and_leaves_nothing_when_stopped(sample_catalog, tmp_path):
    env = cli_env(tmp_path)
    server = _cli(["server"], env)
    state = tmp_path / "prefect-home" / runtime.LOCAL_API_FILE
    try:
        assert _wait_for(state.exists), server.stderr
        url = json.loads(state.read_text())["url"]
        second = _cli(["server"], env)  # one per PREFECT_HOME
        _, stderr = second.communicate(timeout=120)
        assert second.returncode == 2 and "already runs at" in stderr
        # In its own process (--no-server; tests/flows/test_submit.py sends runs to the server), reusing the API.
        run = _cli(["run", "--catalog", str(sample_catalog), "--markets", "de", "--kinds", "ad", "--limit", "1",
                    "--profile", "tiny", "--out", str(tmp_path / "out"), "--no-server"], env)
        # The run starts no API of its own: only the server's uvicorn exists, in the server's session.
        assert _wait_for(lambda: run.poll() is not None or any("ffmpeg" in c for c in _session(run.pid)), timeout=300)
        assert not any("uvicorn" in c for c in _session(run.pid))
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        assert "1 rendered" in stdout
        assert runtime._healthy(url)  # left running for the next command
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert _wait_for(lambda: not _session(server.pid), timeout=15), _session(server.pid)
    assert not state.exists()
