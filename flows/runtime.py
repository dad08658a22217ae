"""Keep a normal local run clean: Prefect's ephemeral server is quiet unless something is wrong."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def quiet_prefect() -> Iterator[None]:
    """Silence the ephemeral server's start/stop chatter and shutdown cancellations for one run."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    noisy = ["prefect.server", "uvicorn", "uvicorn.error", "asyncio", "prefect._internal.concurrency"]
    saved = {name: logging.getLogger(name).level for name in noisy}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    flow_runs = logging.getLogger("prefect.flow_runs")
    flow_runs.addFilter(_known_errors)
    try:
        yield
    finally:
        flow_runs.removeFilter(_known_errors)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _known_errors(record: logging.LogRecord) -> bool:
    """Drop Prefect's traceback for a productreel error: the caller says it in one line.

    Anything else (a bug) keeps its traceback.
    """
    from productreel.errors import ProductreelError

    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, (ProductreelError, Stopped)):
        return False
    # A stop the person asked for (Ctrl-C, SIGTERM) is said once by the CLI, not as a crash.
    message = record.getMessage()
    return not (message.startswith("Crash detected!") and ("termination signal" in message or "interrupted" in message))


# --- the embedded Prefect API and a clean stop --------------------------------------

PR_SET_PDEATHSIG = 1


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived: unwind (closing the embedded API), then stop what is left."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """In a child process: receive SIGTERM when the parent dies, even by SIGKILL (Linux prctl)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    import socket

    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api_url_configured() -> bool:
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


# Commands that run flows, so need an API: the CLI starts the embedded one for them before its heavy imports.
API_COMMANDS = frozenset({"run", "demo", "product-changed", "campaign", "serve-webhooks"})
# Where `productreel server` says which local API it runs (in PREFECT_HOME, beside the database it serves).
LOCAL_API_FILE = "productreel-api.json"


def prefect_home() -> Path:
    """PREFECT_HOME without importing Prefect (loading its settings takes seconds)."""
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()


def api_url_in_environment() -> str:
    """PREFECT_API_URL from the environment or the active Prefect profile, read without importing Prefect.

    A cheap first look for the CLI's start: Prefect's own settings (which also
    read prefect.toml and .env) still decide in ``embedded_api``.
    """
    url = os.environ.get("PREFECT_API_URL", "")
    if url or "PREFECT_API_URL" in os.environ:
        return url
    import tomllib

    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home() / "profiles.toml").expanduser()
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    return str((profiles.get("profiles", {}).get(active) or {}).get("PREFECT_API_URL") or "")


def _healthy(url: str, timeout: float = 1.0) -> bool:
    """True when a Prefect API answers its health check at ``url`` (stdlib only: cheap at start-up)."""
    import urllib.error
    import urllib.request

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP(S)_PROXY
    try:
        with direct.open(f"{url}/health", timeout=timeout) as response:
            return response.status == 200 and response.read().strip() == b"true"
    except (OSError, urllib.error.URLError, ValueError):
        return False


def find_local_api() -> str | None:
    """The URL of the API a `productreel server` runs for this PREFECT_HOME, when it answers; None otherwise."""
    import json

    try:
        state = json.loads((prefect_home() / LOCAL_API_FILE).read_text(encoding="utf-8"))
        url, pid = str(state["url"]), int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    return url if _healthy(url) else None


class _Server:
    """A uvicorn process serving Prefect's API on the loopback interface, stopped with this process."""

    def __init__(self, port: int = 0, *, env: dict[str, str] | None = None, ui: bool = False) -> None:
        import importlib.util
        import subprocess
        import sys

        # Prefect's package folder without importing Prefect: the server starts while this process imports.
        spec = importlib.util.find_spec("prefect")
        if spec is None or spec.origin is None:
            raise RuntimeError("Prefect is not installed")
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        env = {**(env if env is not None else os.environ), "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        if not ui:
            env["PREFECT_UI_ENABLED"] = "0"
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env, preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL,
        )

    def wait_healthy(self, timeout: float) -> None:
        """Return once the API answers; raise when the server exits first or the time runs out."""
        import time

        deadline = time.monotonic() + timeout
        while not _healthy(self.url, timeout=2):
            if self.process.poll() is not None:
                raise RuntimeError(f"the embedded Prefect API exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded Prefect API did not answer within {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        """Terminate the server (kill it when it does not stop within 10 s, or at once with ``kill``) and reap it."""
        import subprocess

        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_early: _Server | None = None


def start_api_early(argv: list[str]) -> None:
    """Start the embedded API now, before the command imports Prefect and the renderer, when it will need one.

    For a command that runs a flow, with no API configured and no local API
    running: the server's start (seconds) overlaps this process's imports;
    ``embedded_api`` adopts it, ``stop_early_api`` stops it if nothing did.
    """
    global _early
    if _early is not None or not argv or argv[0] not in API_COMMANDS or "--help" in argv:
        return
    if api_url_in_environment() or find_local_api():
        return
    _early = _Server()


def stop_early_api() -> None:
    """Stop an API ``start_api_early`` started that no ``embedded_api`` took (a bad argument ended the command)."""
    global _early
    server, _early = _early, None
    if server is not None:
        server.stop(kill=True)  # it served nothing; a terminate mid-start prints the server's shutdown errors


@contextlib.contextmanager
def _api_url(url: str) -> Iterator[str]:
    """PREFECT_API_URL set to ``url`` for the block; Prefect's queued events and logs sent before it is unset."""
    from prefect.context import refresh_global_settings_context

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    refresh_global_settings_context()
    try:
        yield url
    finally:
        _drain_prefect_services()
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        refresh_global_settings_context()


@contextlib.contextmanager
def embedded_api(timeout: float = 90.0) -> Iterator[str | None]:
    """The Prefect API for one command: the one configured, else a local `productreel server`, else an embedded one.

    Nothing is started when an API URL is configured (a team's server, a test
    harness): yields None. A `productreel server` running for this
    PREFECT_HOME (see flows/submit.py ``serve_local_api``) is used as it is, and left running.
    Otherwise Prefect's embedded API runs in a child process that cannot
    outlive this one: Prefect starts the same server itself, but stops it only
    from ``atexit``, so a SIGTERM or a crash left it orphaned. Here the server
    gets PR_SET_PDEATHSIG (it is stopped with this process, however this
    process ends) and is stopped when the block ends. The one
    ``start_api_early`` started is adopted. Yields the API URL used, or None.
    """
    global _early
    server, _early = _early, None
    served = False
    try:
        if _api_url_configured():
            yield None
            return
        local = find_local_api()
        if local:
            with _api_url(local):
                yield local
            return
        if server is None:
            from prefect.settings import get_current_settings

            # Settings this process changed (a test's temporary_settings) reach the server too.
            server = _Server(env={**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True)})
        server.wait_healthy(timeout)
        served = True
        with _api_url(server.url):
            yield server.url
    finally:
        if server is not None:
            server.stop(kill=not served)  # one that served nothing is killed (no shutdown errors mid-start)


def stop_local_api(timeout: float = 30.0) -> int | None:
    """Stop this PREFECT_HOME's `productreel server` (SIGTERM, as Ctrl-C); its process id, or None when none runs."""
    import json
    import signal
    import time

    try:
        pid = int(json.loads((prefect_home() / LOCAL_API_FILE).read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def _drain_prefect_services(timeout: float = 10.0) -> None:
    """Send Prefect's queued events and logs to the embedded API before it stops.

    Otherwise Prefect's background workers keep the queue and, at exit, try to
    reach a server that is gone: warnings on screen instead of a clean end.
    """
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for service in (EventsWorker, APILogWorker):
            service.drain_all(timeout=timeout, at_exit=False)
    except Exception:  # noqa: BLE001 - best effort: the ledger, not Prefect's event log, is the record
        pass


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into ``Stopped`` in the main thread, so every ``with`` block unwinds."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise Stopped(signum)

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def descendants(pid: int | None = None) -> list[int]:
    """The process ids below ``pid`` (default: this process), children first, read from /proc."""
    pid = pid or os.getpid()
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def stop_descendants(grace: float = 3.0) -> None:
    """SIGTERM every process this one started (FFmpeg encoders, voices, servers), then SIGKILL what is left."""
    import signal
    import time

    pids = descendants()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        if state == b"Z":  # a zombie child: reap it
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            return False
        return True
    except OSError:
        return False
