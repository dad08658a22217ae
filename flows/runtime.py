"""Keep a normal local run clean: Prefect's ephemeral server is quiet unless something is wrong."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator


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


@contextlib.contextmanager
def embedded_api(timeout: float = 90.0) -> Iterator[str | None]:
    """Prefect's embedded API for one command, in a child process that cannot outlive this one.

    Prefect starts the same server itself when no PREFECT_API_URL is set, but
    stops it only from ``atexit``: a SIGTERM or a crash left it running,
    orphaned. Here the server gets PR_SET_PDEATHSIG (it is stopped with this
    process, however this process ends) and is stopped when the block ends.
    Nothing is started when an API URL is configured (a team's server, a test
    harness). Yields the API URL it started, or None.
    """
    import subprocess
    import sys
    import time

    import httpx
    import prefect
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    if _api_url_configured():
        yield None
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True),
           "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"],
        env=env, preexec_fn=_die_with_parent, stdin=subprocess.DEVNULL,
    )
    previous = os.environ.get("PREFECT_API_URL")
    try:
        deadline = time.monotonic() + timeout
        with httpx.Client() as client:
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the embedded Prefect API exited with code {server.returncode}")
                try:
                    if client.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the embedded Prefect API did not answer within {timeout:.0f} s")
                time.sleep(0.1)
        os.environ["PREFECT_API_URL"] = url
        refresh_global_settings_context()
        yield url
    finally:
        _drain_prefect_services()
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        refresh_global_settings_context()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
