"""Flow commands submitted to a running `productreel server` (flows/submit.py).

The unit tests run the submission server in a thread with a stand-in child
(it writes to its pipes and exits with a code); the subprocess tests start
the real `productreel server` and submit real runs through the CLI.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import runtime, submit
from ._procs import cli_env, session_processes as _session, start_cli as _cli, wait_for as _wait_for

ROOT = Path(__file__).resolve().parents[2]


# --- which commands go to a server ----------------------------------------------------


@pytest.mark.parametrize(("argv", "env", "goes"), [
    (["run", "--catalog", "c.csv"], {}, True),
    (["product-changed", "mug", "--catalog", "c.csv"], {}, True),
    (["demo"], {}, True),
    (["campaign", "--yes"], {}, True),
    (["campaign"], {}, False),  # it asks in this terminal
    (["run", "--catalog", "c.csv", "--no-server"], {}, False),
    (["run", "--catalog", "c.csv"], {"PRODUCTREEL_NO_SERVER": "1"}, False),
    (["run", "--catalog", "c.csv"], {"PRODUCTREEL_NO_SERVER": "0"}, True),
    (["run", "--help"], {}, False),
    (["check", "clip.mp4", "--market", "de"], {}, False),
    (["server"], {}, False),
    ([], {}, False),
])
def test_which_commands_go_to_a_server(argv, env, goes):
    assert submit.wanted(argv, env) is goes


def test_a_run_gets_the_callers_environment_with_the_servers_prefect_settings():
    caller = {"PRODUCTREEL_WORKERS": "1", "SHOPIFY_ACCESS_TOKEN": "secret", "PREFECT_API_URL": "http://elsewhere/api",
              "PATH": "/caller/bin"}
    server = {"PREFECT_API_URL": "http://127.0.0.1:1/api", "PREFECT_HOME": "/home", "PRODUCTREEL_WORKERS": "8"}
    env = submit.child_environment(caller, server)
    assert env == {"PRODUCTREEL_WORKERS": "1", "SHOPIFY_ACCESS_TOKEN": "secret", "PATH": "/caller/bin",
                   "PREFECT_API_URL": "http://127.0.0.1:1/api", "PREFECT_HOME": "/home"}


def test_the_token_file_is_readable_by_its_owner_only(tmp_path):
    token = submit.write_token(tmp_path)
    path = tmp_path / submit.TOKEN_FILE
    assert path.read_text() == token and len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert submit.write_token(tmp_path) != token  # a fresh one each start


# --- the submission server with a stand-in child ----------------------------------------


class StandIn:
    """tests/flows/_submit_stand_in.py in a subprocess: the real SubmissionServer, a child that echoes or waits."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_submit_stand_in.py")), str(home)])
        state = home / runtime.LOCAL_API_FILE
        deadline = time.monotonic() + 60
        while not state.exists():
            assert self.proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        self.address = tuple(json.loads(state.read_text())["submit"])
        self.token = (home / submit.TOKEN_FILE).read_text()

    @property
    def started(self) -> list[str]:
        path = self.home / "started"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """The stand-in server, found through PREFECT_HOME; no API configured, no profile read."""
    home = tmp_path / "prefect-home"
    monkeypatch.setenv("PREFECT_HOME", str(home))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PRODUCTREEL_NO_SERVER", raising=False)
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    server = StandIn(home)
    yield server
    server.proc.terminate()
    server.proc.wait(timeout=30)


def test_a_submitted_command_runs_on_the_server_and_its_output_and_code_come_back(stand_in, capfd, monkeypatch, tmp_path):
    monkeypatch.setenv("PRODUCTREEL_WORKERS", "1")
    monkeypatch.chdir(tmp_path)
    assert submit.submit(["run", "--catalog", "c.csv"]) == 3
    out, err = capfd.readouterr()
    assert out == f"argv=run --catalog c.csv cwd={tmp_path}\n"
    assert err == "workers=1\n"
    assert stand_in.started == ["run --catalog c.csv"]


def test_a_wrong_token_is_refused_and_the_command_runs_here(stand_in, capfd, tmp_path):
    (tmp_path / "prefect-home" / submit.TOKEN_FILE).write_text("not-the-token")
    assert submit.submit(["run", "--catalog", "c.csv"]) is None
    _, err = capfd.readouterr()
    assert "refused the run (wrong token); running here" in err
    assert stand_in.started == []


def test_a_server_that_does_not_answer_means_running_here(stand_in, capfd, tmp_path):
    state = tmp_path / "prefect-home" / runtime.LOCAL_API_FILE
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens on it once closed
    state.write_text(json.dumps({**json.loads(state.read_text()), "submit": ["127.0.0.1", port]}))
    assert submit.submit(["run", "--catalog", "c.csv"]) is None
    assert "did not answer" in capfd.readouterr().err


def test_a_stale_server_file_or_a_server_without_runs_is_passed_over_quietly(stand_in, capfd, tmp_path):
    state = tmp_path / "prefect-home" / runtime.LOCAL_API_FILE
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    saved = json.loads(state.read_text())
    state.write_text(json.dumps({**saved, "pid": dead.pid}))
    assert submit.submit(["run", "--catalog", "c.csv"]) is None
    state.write_text(json.dumps({k: v for k, v in saved.items() if k != "submit"}))  # an API-only server
    assert submit.submit(["run", "--catalog", "c.csv"]) is None
    assert capfd.readouterr().err == ""
    assert stand_in.started == []


def test_no_server_and_a_configured_api_run_here(stand_in, monkeypatch):
    assert submit.submit(["run", "--catalog", "c.csv", "--no-server"]) is None
    monkeypatch.setenv("PREFECT_API_URL", "http://team.example/api")
    assert submit.submit(["run", "--catalog", "c.csv"]) is None
    assert stand_in.started == []


def _raw_submit(server: StandIn, argv: list[str]) -> socket.socket:
    body = json.dumps({"token": server.token, "argv": argv, "cwd": os.getcwd(), "umask": 0o022, "env": {},
                       "terminal": {}}).encode()
    sock = socket.create_connection(server.address, timeout=30)
    sock.sendall(len(body).to_bytes(4, "big") + body)
    return sock


def _frames(sock: socket.socket) -> list[tuple[bytes, bytes]]:
    frames = [submit.read_frame(sock)]
    while frames[-1][0] not in (b"x", b"r"):
        frames.append(submit.read_frame(sock))
    return frames


def test_a_client_that_stops_stops_its_run_and_the_server_goes_on(stand_in):
    # One run at a time on the stand-in: a run left behind would make the next submission refused.
    for _ in range(3):
        with _raw_submit(stand_in, ["run", "--wait"]) as sock:
            assert submit.read_frame(sock)[0] == b"a"
            assert submit.read_frame(sock) == (b"1", b"waiting\n")
            sock.shutdown(socket.SHUT_WR)  # what the client does on Ctrl-C: its last lines and code still come
            assert _frames(sock) == [(b"2", b"productreel: stopped\n"), (b"x", b"130")]
        # A client that leaves without a word (killed) stops its run too, however early.
        with _raw_submit(stand_in, ["run", "--wait"]) as sock:
            assert submit.read_frame(sock)[0] == b"a"
        deadline = time.monotonic() + 30
        while True:
            with _raw_submit(stand_in, ["run", "x"]) as sock:
                frames = _frames(sock)
            if frames[0][0] == b"a" or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # refused while the stopped run is still exiting
        assert frames[0][0] == b"a" and frames[-1] == (b"x", b"3")
    assert stand_in.proc.poll() is None


def test_a_bad_request_is_refused(stand_in):
    with socket.create_connection(stand_in.address, timeout=30) as sock:
        sock.sendall((5).to_bytes(4, "big") + b"nope!")
        kind, reason = submit.read_frame(sock)
    assert kind == b"r" and reason.startswith(b"bad request")
    assert stand_in.started == []


# --- the real server, in subprocesses ---------------------------------------------------


@pytest.mark.slow
def test_runs_go_to_a_real_productreel_server_and_fall_back_when_it_refuses_or_dies(sample_catalog, tmp_path):
    home = tmp_path / "prefect-home"
    env = cli_env(tmp_path, PYTHONPATH=str(ROOT))  # its PREFECT_HOME is `home`
    env.pop("PRODUCTREEL_NO_SERVER", None)
    server = _cli(["server"], env)
    state = home / runtime.LOCAL_API_FILE
    try:
        assert _wait_for(lambda: state.exists() and "submit" in state.read_text()), server.stderr
        assert stat.S_IMODE((home / submit.TOKEN_FILE).stat().st_mode) == 0o600
        host, _ = json.loads(state.read_text())["submit"]
        assert host == "127.0.0.1"

        # A real run: relative --out from the caller's folder, the caller's PRODUCTREEL_* settings.
        work = tmp_path / "work"
        work.mkdir()
        ledger = tmp_path / "elsewhere" / "ledger.sqlite"
        ledger.parent.mkdir()
        run_env = {**env, "PRODUCTREEL_LEDGER_URL": f"sqlite:///{ledger}"}
        run = _cli(["run", "--catalog", str(sample_catalog), "--markets", "de", "--kinds", "ad", "--limit", "1",
                    "--profile", "tiny", "--out", "out"], run_env, cwd=work)
        seen: list[str] = []
        # It runs on the server: nothing but the client itself in the client's session, ever.
        assert _wait_for(lambda: run.poll() is not None or bool(seen.extend(_session(run.pid)[1:])), timeout=600)
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr
        assert seen == []
        assert "running here" not in stderr
        assert "1 rendered, 0 unchanged (skipped), 0 blocked, 0 failed" in stdout
        assert f"summary: {work / 'out' / 'summary.json'}" in stdout
        summary = json.loads((work / "out" / "summary.json").read_text())
        (job,) = summary["jobs"]
        assert job["status"] == "rendered" and (work / "out" / job["clip"]).exists()
        assert (work / "out" / "index.html").exists()
        assert not (work / "out" / "ledger.sqlite").exists()  # the caller's PRODUCTREEL_LEDGER_URL was used
        from productreel.ledger import Ledger

        recorded = Ledger(f"sqlite:///{ledger}").outcome(f"{job['handle']}/de/ad/{job['format']}")
        assert recorded is not None and recorded.job_key == job["job_key"]

        # The same command again through the server: unchanged, the same table as in-process.
        again = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--catalog", str(sample_catalog), "--markets",
                                "de", "--kinds", "ad", "--limit", "1", "--profile", "tiny", "--out", "out"],
                               env=run_env, cwd=work, capture_output=True, text=True, timeout=600)
        here = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--catalog", str(sample_catalog), "--markets",
                               "de", "--kinds", "ad", "--limit", "1", "--profile", "tiny", "--out", "out", "--no-server"],
                              env=run_env, cwd=work, capture_output=True, text=True, timeout=600)
        assert again.returncode == here.returncode == 0, (again.stderr, here.stderr)
        assert "1 unchanged (skipped)" in again.stdout
        strip = lambda text: [line.split(" failed in ")[0] for line in text.splitlines()]  # noqa: E731
        assert strip(again.stdout) == strip(here.stdout)

        # product-changed goes to the server too: the same product, unchanged, skipped by the ledger.
        changed = subprocess.run([sys.executable, "-m", "flows.cli", "product-changed", job["handle"], "--catalog",
                                  str(sample_catalog), "--markets", "de", "--kinds", "ad", "--profile", "tiny", "--out",
                                  "out"], env=run_env, cwd=work, capture_output=True, text=True, timeout=600)
        assert changed.returncode == 0, changed.stderr
        assert "running here" not in changed.stderr
        assert "0 rendered, 1 unchanged (skipped)" in changed.stdout

        # A bad argument's exit code and line come back as they would here.
        bad = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--catalog", str(sample_catalog),
                              "--backend", "nope"], env=env, cwd=work, capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and "--backend must be compose or diffusion" in bad.stderr

        # A wrong token: refused, and the command runs in its own process.
        token = home / submit.TOKEN_FILE
        real = token.read_text()
        token.write_text("wrong")
        empty = tmp_path / "empty.csv"
        empty.write_text(Path(sample_catalog).read_text().splitlines()[0] + "\n")
        refused = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--catalog", str(empty), "--out", "empty"],
                                 env=env, cwd=work, capture_output=True, text=True, timeout=300)
        token.write_text(real)
        assert refused.returncode == 0, refused.stderr
        assert "refused the run (wrong token); running here" in refused.stderr
        assert "0 rendered" in refused.stdout
        assert runtime._healthy(json.loads(state.read_text())["url"])  # the server goes on
    finally:
        server.kill()  # dies without cleaning up: its API goes with it (PR_SET_PDEATHSIG)
        server.communicate(timeout=60)
    assert _wait_for(lambda: not _session(server.pid), timeout=30), _session(server.pid)
    assert state.exists()  # left behind by the killed server
    dead = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--catalog", str(empty), "--out", "dead"],
                          env=env, cwd=work, capture_output=True, text=True, timeout=300)
    assert dead.returncode == 0, dead.stderr
    assert "0 rendered" in dead.stdout and (work / "dead" / "summary.json").exists()


def test_the_server_loop_ends_when_idle_or_when_its_api_is_gone(tmp_path):
    server = submit.SubmissionServer("token", run_child=lambda *a: os._exit(0))
    try:
        assert server.serve(idle_timeout=0.3) == "idle"
        assert server.serve(alive=lambda: False) == "gone"
    finally:
        server.close()
