"""A real Prefect server, work pools and process workers for end-to-end tests; everything started is stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (flow-run subprocesses start their own sessions, so a process group is not enough)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a process and everything it started, then reap it."""
    if proc.poll() is None:
        for pid in [proc.pid, *descendants(proc.pid)]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_tree(proc, signal.SIGKILL)


class PrefectServer:
    """`prefect server start` on SQLite and a free loopback port, with a private PREFECT_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": self.url,
            "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "2",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
            "PRODUCTREEL_CACHE_DIR": str(home / "productreel-cache"),
        }

    def start(self) -> "PrefectServer":
        """Start the server and wait until it answers."""
        log = open(self.home / "server.log", "wb")
        self.procs.append(subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port), "--no-services", "--no-ui",
             "--analytics-off"],
            env=self.env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.procs[0].poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError("prefect server did not start:\n" + (self.home / "server.log").read_text()[-3000:])

    def cli(self, *args: str, cwd: Path = ROOT, timeout: float = 180) -> str:
        """Run a `prefect` CLI command against this server; its output, or an error carrying it."""
        done = subprocess.run([PREFECT, *args], env=self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def start_worker(self, pool: str, name: str) -> subprocess.Popen:
        """A process worker for ``pool``; its log goes to <home>/<name>.log."""
        log = open(self.home / f"{name}.log", "ab")
        proc = subprocess.Popen([PREFECT, "worker", "start", "--pool", pool, "--type", "process", "--name", name],
                                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        """The tail of every log this server and its workers wrote (for failure messages)."""
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.home.glob("*.log")))

    def stop(self) -> None:
        """Stop the workers (and their flow runs), then the server."""
        for proc in reversed(self.procs):
            kill_tree(proc, signal.SIGTERM)


def settings_for(server: PrefectServer):
    """A context in which this process's Prefect client talks to ``server``."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: server.url})


def wait_for_state(flow_run_id, states: set[str], timeout: float = 240, server: PrefectServer | None = None):
    """Poll a flow run until its state type is one of ``states``; the flow run."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.type.value in states:
                return run
            if run.state and run.state.is_final():
                raise AssertionError(f"flow run ended {run.state.type.value}: {run.state.message}\n"
                                     + (server.logs() if server else ""))
            time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} not in {states} after {timeout} s\n" + (server.logs() if server else ""))


def read_json(path: Path) -> dict:
    """A JSON file's content."""
    return json.loads(path.read_text(encoding="utf-8"))
