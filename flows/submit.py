"""Flow commands submitted to a running `productreel server`: the server runs them, their output comes back.

A CLI process that imports Prefect pays ≈ 2.5 s before its flow can start.
When a `productreel server` runs for the same PREFECT_HOME, the CLI's
``main`` hands a flow command (run, demo, product-changed, campaign --yes)
to it instead: ``submit`` sends the command line, the working folder, the
umask, the caller's environment (its PRODUCTREEL_* settings and storefront
secrets included: sent in the request, never logged) and whether stdout and
stderr are terminals over loopback; the server forks a child of itself
(Prefect and the renderer's libraries already imported) that runs the same
``flows.cli.run_here`` with that command, and relays its stdout and stderr back
as they come, then its exit code. The run is the same real Prefect flow run
against the server's API; the ledger stays the record.

The server listens on 127.0.0.1 only and runs nothing without the token in
PREFECT_HOME/productreel-api.token (mode 0600, beside productreel-api.json).
Prefect settings (PREFECT_*) are the server's: a command with an API
configured (PREFECT_API_URL) runs in its own process, as before. When the
server is gone or refuses, the command runs in the CLI's own process and one
line says so; ``--no-server`` or PRODUCTREEL_NO_SERVER=1 asks for that.
Ctrl-C (or SIGTERM) on the client stops the run on the server as Ctrl-C stops
an in-process run (SIGINT to the child), and the child's last lines and exit
code still come back; a second Ctrl-C leaves at once.

Wire format: the request is a 4-byte big-endian length and a JSON object;
every answer is a frame: one kind byte (``a`` accepted, first; ``1``
stdout; ``2`` stderr; ``x`` exit code, last; ``r`` refused with a reason,
instead of ``a``), a 4-byte length, the payload.

The client half is stdlib only and cheap to import: the CLI imports it before
anything heavy. The server half (``SubmissionServer``) runs in the
`productreel server` process (``serve_local_api`` below).
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path

# Commands that run flows and can run on the server. campaign only with --yes: it asks in this terminal otherwise.
SUBMIT_COMMANDS = frozenset({"run", "demo", "product-changed", "campaign"})
NO_SERVER_ENV = "PRODUCTREEL_NO_SERVER"
TOKEN_FILE = "productreel-api.token"
_HEADER = struct.Struct(">cI")
_LENGTH = struct.Struct(">I")
MAX_REQUEST = 4 << 20


# --- the client: the CLI's side ------------------------------------------------------


def wanted(argv: list[str], environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """True when this command line should go to a running server (before looking for one)."""
    if not argv or argv[0] not in SUBMIT_COMMANDS or "--help" in argv or "--no-server" in argv:
        return False
    if environ.get(NO_SERVER_ENV, "").strip().lower() not in {"", "0", "false", "no"}:
        return False
    return argv[0] != "campaign" or "--yes" in argv


def _say(line: str) -> None:
    sys.stderr.write(f"productreel: {line}\n")
    sys.stderr.flush()


def _server_address() -> tuple[tuple[str, int], str] | None:
    """(host, port) and token of this PREFECT_HOME's `productreel server` when it takes runs and its process lives."""
    import json

    from flows.runtime import LOCAL_API_FILE, _alive, prefect_home

    home = prefect_home()
    try:
        state = json.loads((home / LOCAL_API_FILE).read_text(encoding="utf-8"))
        host, port = str(state["submit"][0]), int(state["submit"][1])
        pid = int(state["pid"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # no server, or one that only serves the API (it is reused in-process)
    if not _alive(pid):
        return None  # a stale file: the server is gone
    try:
        token = (home / TOKEN_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        token = ""
    return (host, port), token


def _terminal() -> dict[str, object]:
    tty = {"stdout": sys.stdout.isatty(), "stderr": sys.stderr.isatty()}
    columns, lines = 80, 25
    for stream in (sys.stdout, sys.stderr):
        try:
            columns, lines = os.get_terminal_size(stream.fileno())
            break
        except (OSError, ValueError, AttributeError):
            continue
    return {**tty, "columns": columns, "lines": lines}


def request_for(argv: list[str], token: str) -> dict[str, object]:
    """The request a client sends for ``argv``: the command, where and how it runs, and the caller's environment."""
    mask = os.umask(0o022)
    os.umask(mask)
    return {"token": token, "argv": list(argv), "cwd": os.getcwd(), "umask": mask, "env": dict(os.environ),
            "terminal": _terminal()}


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    """One frame: (kind, payload)."""
    kind, length = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    return kind, _recv_exact(sock, length)


def frame(kind: bytes, payload: bytes) -> bytes:
    return _HEADER.pack(kind, len(payload)) + payload


class _Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def submit(argv: list[str]) -> int | None:
    """Run ``argv`` on this PREFECT_HOME's `productreel server`; its exit code, or None to run it in this process.

    None when the command does not go to a server (see ``wanted``), an API
    is configured, or no server takes runs; also when the server does not
    answer or refuses, with one line saying so.
    """
    if not wanted(argv):
        return None
    from flows.runtime import api_url_in_environment

    if api_url_in_environment():
        return None  # a configured API (a team's server): this process runs the command against it
    found = _server_address()
    if found is None:
        return None
    address, token = found
    import json

    body = json.dumps(request_for(argv, token)).encode()
    try:
        sock = socket.create_connection(address, timeout=5)
    except OSError as exc:
        _say(f"the local productreel server at {address[0]}:{address[1]} did not answer ({exc.strerror or exc}); "
             "running here")
        return None
    with sock:
        try:
            sock.sendall(_LENGTH.pack(len(body)) + body)
            kind, payload = read_frame(sock)
        except OSError as exc:
            _say(f"the local productreel server at {address[0]}:{address[1]} did not take the run ({exc}); running here")
            return None
        if kind != b"a":
            reason = payload.decode("utf-8", "replace") if kind == b"r" else "an unexpected answer"
            _say(f"the local productreel server refused the run ({reason}); running here")
            return None
        sock.settimeout(None)
        return _relay(sock)


def _relay(sock: socket.socket) -> int:
    """Print the run's output frames until its exit code; Ctrl-C or SIGTERM stops the run on the server.

    The first Ctrl-C half-closes the connection (the server stops the run as
    Ctrl-C stops one in-process) and the run's last lines and exit code are
    still read; a second one leaves at once.
    """
    import signal

    stopping: list[int] = []

    def interrupted(signum, _frame):
        if stopping:
            raise _Interrupted(signum)
        stopping.append(signum)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            raise _Interrupted(signum) from None

    saved = {}
    try:
        saved = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: no signal handling
        pass
    streams = {b"1": sys.stdout.buffer, b"2": sys.stderr.buffer}
    try:
        while True:
            kind, payload = read_frame(sock)
            if kind == b"x":
                return int(payload or b"1")
            stream = streams.get(kind)
            if stream is not None:
                stream.write(payload)
                stream.flush()
    except _Interrupted as stop:
        return 128 + stop.signum
    except (OSError, ConnectionError, struct.error, ValueError):
        if stopping:
            return 128 + stopping[0]
        _say("lost the local productreel server during the run; run the same command again to resume "
             "(finished clips are kept)")
        return 1
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


# --- the server: `productreel server`'s side -----------------------------------------

# Imported by the server before it takes runs, so a run's child has them already: Prefect and the libraries a run
# uses. Not the flows themselves (flows.catalog_batch reads PRODUCTREEL_WORKERS when imported: the run's child
# imports it with the caller's environment). Imports only: no thread may run in the server when it forks.
WARM_MODULES = (
    "prefect", "prefect.flows", "prefect.tasks", "prefect.task_runners", "prefect.concurrency.sync",
    "prefect.artifacts", "prefect.client.orchestration", "prefect.logging.handlers", "prefect.events.worker",
    "prefect.engine", "prefect.flow_engine", "prefect.task_engine", "prefect.telemetry", "fastapi", "fastapi.encoders",
    "starlette.applications", "graphviz", "pydantic.v1", "pydantic.color", "anyio._backends._asyncio",
    "opentelemetry.metrics", "sqlalchemy.dialects.sqlite", "rich._emoji_codes", "catalog_adapters.images",
    "productreel.review",
    "flows.tasks", "flows.orchestration", "flows.progress", "flows.secrets", "jobs.job", "jobs.plan", "jobs.head_start",
    "catalog_adapters", "clips.compose", "clips.storyboard", "clips.voices", "compliance", "localization",
    "localization.templating", "localization.translation", "publishers",
    "av", "numpy", "cv2", "PIL.Image", "scipy.signal", "onnxruntime", "rapidocr",
    # What a one-ad run imported after the above (python -X importtime): OCR's recogniser alone ≈ 1.8 s.
    "rapidocr.cal_rec_boxes", "rapidocr.ch_ppocr_det", "rapidocr.ch_ppocr_cls", "rapidocr.ch_ppocr_rec",
    "rapidocr.inference_engine.onnxruntime", "rapidocr.utils.output", "scipy.io", "omegaconf", "pyloudnorm", "icu",
    "fontTools.ttLib", "bidi", "c2pa", "imageio_ffmpeg", "av.subtitles.stream", "PIL.PngImagePlugin",
    "PIL.GifImagePlugin", "PIL.JpegImagePlugin", "compliance.context", "compliance.design", "compliance.engine",
    "compliance.visual", "compliance.spec", "compliance.audio", "compliance.price", "compliance.flashes",
    "compliance.nudity", "compliance.claims", "compliance.captions", "localization.subtitles", "localization.segment",
    "localization.spoken", "productreel.model_store", "productreel.contact_sheet", "clips.encode",
)


def warm_imports(modules: tuple[str, ...] = WARM_MODULES) -> list[str]:
    """Import ``modules`` (each that fails is skipped: the run imports it itself); the names that failed."""
    import importlib

    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional library missing only makes the first run slower
            failed.append(name)
    return failed


def use_api(url: str) -> None:
    """Make ``url`` this process's Prefect API before runs are forked: each run's child starts with it set.

    The same as ``flows.runtime.embedded_api`` does in a CLI process for a
    local server's API, done once here instead of twice per run.
    """
    from prefect.context import refresh_global_settings_context

    os.environ["PREFECT_API_URL"] = url
    refresh_global_settings_context()


def write_token(home: Path) -> str:
    """A fresh random token in ``home``/productreel-api.token, readable by this user only (0600)."""
    import secrets

    token = secrets.token_urlsafe(32)
    home.mkdir(parents=True, exist_ok=True)
    path = home / TOKEN_FILE
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return token


def child_environment(caller: dict[str, str], server: dict[str, str] | os._Environ = os.environ) -> dict[str, str]:
    """The environment a submitted run gets: the caller's, with the server's Prefect settings (PREFECT_*)."""
    env = {k: v for k, v in caller.items() if not k.startswith("PREFECT_")}
    env.update({k: v for k, v in server.items() if k.startswith("PREFECT_")})
    return env


class _Run:
    """One submitted command: its child process, the client's socket, the child's output pipes."""

    def __init__(self, pid: int, conn: socket.socket, pipes: dict[int, bytes]) -> None:
        self.pid = pid
        self.conn: socket.socket | None = conn
        self.pipes = pipes  # read end -> frame kind
        self.code: int | None = None
        self.cancelled_at: float | None = None


def _kill(run: _Run) -> None:
    """SIGKILL a run that did not stop when asked: its process group, else the child itself."""
    import signal

    for kill in (lambda: os.killpg(run.pid, signal.SIGKILL), lambda: os.kill(run.pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass


class SubmissionServer:
    """Takes submitted commands on 127.0.0.1 and runs each in a forked child (``run_child``), relaying its output.

    One thread: a selector over the listening socket, each run's client
    socket (anything read from it, or its end, stops the run) and the
    child's stdout and stderr pipes. At most ``max_runs`` at once; more are
    refused (their clients run them in their own process).
    """

    def __init__(self, token: str, *, command: Callable[[dict], None] | None = None, run_child=None, max_runs: int = 4,
                 port: int = 0) -> None:
        import selectors

        if run_child is None and command is None:
            raise ValueError("a SubmissionServer needs the command its children run (or run_child)")
        self.token = token
        self.max_runs = max_runs
        self._run_child = run_child or (lambda request, out_w, err_w: run_in_child(request, out_w, err_w, command))
        self.sock = socket.create_server(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()[:2]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, None)
        self.runs: dict[int, _Run] = {}
        self.started = 0

    # The loop --------------------------------------------------------------------------------

    def serve(self, *, alive=lambda: True, idle_timeout: float = 0.0) -> str:
        """Serve until ``alive()`` is false ("gone") or nothing ran for ``idle_timeout`` seconds ("idle")."""
        import time

        idle_since = time.monotonic()
        while True:
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    if key.data is None:
                        self._accept()
                    else:
                        run, what = key.data
                        if what == "conn":
                            self._client_spoke(run)
                        else:
                            self._output(run, key.fd)
                except Exception as exc:  # noqa: BLE001 - one run's trouble must not stop the server
                    sys.stderr.write(f"productreel server: {type(exc).__name__}: {exc}\n")
            self._reap()
            if self.runs:
                idle_since = time.monotonic()
            if not alive():
                return "gone"
            if idle_timeout and time.monotonic() - idle_since > idle_timeout:
                return "idle"

    def _accept(self) -> None:
        import hmac
        import json

        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        try:
            conn.settimeout(5)
            (length,) = _LENGTH.unpack(_recv_exact(conn, _LENGTH.size))
            if length > MAX_REQUEST:
                raise ValueError("request too large")
            request = json.loads(_recv_exact(conn, length))
            if not isinstance(request, dict) or not isinstance(request.get("argv"), list):
                raise ValueError("not a request")
        except (OSError, ConnectionError, ValueError, struct.error) as exc:
            self._refuse(conn, f"bad request: {exc}")
            return
        if not hmac.compare_digest(str(request.get("token", "")).encode(), self.token.encode()):
            self._refuse(conn, "wrong token")
            return
        if len(self.runs) >= self.max_runs:
            self._refuse(conn, f"{len(self.runs)} runs already running")
            return
        self._start(conn, request)

    @staticmethod
    def _refuse(conn: socket.socket, reason: str) -> None:
        try:
            conn.sendall(frame(b"r", reason.encode()))
        except OSError:
            pass
        conn.close()

    def _start(self, conn: socket.socket, request: dict) -> None:
        import selectors
        import signal

        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        # A stop sent while the child is being made would be dropped by Python's own after-fork steps: the child
        # starts with SIGINT and SIGTERM blocked, so they wait in the kernel until it is ready for them.
        stops = {signal.SIGINT, signal.SIGTERM}
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if pid == 0:  # pragma: no cover - the child; measured through the subprocess tests
            try:  # whatever happens here (a stop before the command began), the child never returns to this loop
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
                self.selector.close()
                self.sock.close()
                conn.close()
                for run in self.runs.values():
                    for fd in run.pipes:
                        os.close(fd)
                    if run.conn is not None:
                        run.conn.close()
                os.close(out_r)
                os.close(err_r)
                self._run_child(request, out_w, err_w)
            except BaseException:  # noqa: BLE001
                pass
            finally:
                os._exit(130)
        os.close(out_w)
        os.close(err_w)
        self.started += 1
        try:
            conn.sendall(frame(b"a", str(pid).encode()))
        except OSError:
            pass  # the client is gone: its end is read below and the run stopped
        run = _Run(pid, conn, {out_r: b"1", err_r: b"2"})
        self.runs[pid] = run
        conn.settimeout(30)  # a client that reads nothing for 30 s is treated as gone
        for fd in run.pipes:
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ, (run, "pipe"))
        self.selector.register(conn, selectors.EVENT_READ, (run, "conn"))

    def _send(self, run: _Run, data: bytes) -> None:
        if run.conn is None:
            return
        try:
            run.conn.sendall(data)
        except OSError:
            self._cancel(run)

    def _client_spoke(self, run: _Run) -> None:
        """The client sent something or left (Ctrl-C, or gone): stop the run."""
        if run.conn is None:
            return  # already gone (an earlier event of the same wake-up)
        try:
            run.conn.recv(1, socket.MSG_DONTWAIT)
        except OSError:
            pass
        self.selector.unregister(run.conn)
        self._cancel(run, keep_conn=True)

    def _cancel(self, run: _Run, *, keep_conn: bool = False) -> None:
        """Stop the run as Ctrl-C stops a command (SIGINT: it unwinds, stops its processes and exits)."""
        import signal
        import time

        if not keep_conn:
            self._drop_conn(run)
        if run.cancelled_at is None and run.code is None:
            run.cancelled_at = time.monotonic()
            try:
                os.kill(run.pid, signal.SIGINT)
            except OSError:
                pass

    def _drop_conn(self, run: _Run) -> None:
        """Forget the run's client connection (gone, or the run is over)."""
        if run.conn is None:
            return
        try:
            self.selector.unregister(run.conn)
        except (KeyError, ValueError):
            pass
        run.conn.close()
        run.conn = None

    def _output(self, run: _Run, fd: int) -> None:
        if fd not in run.pipes:
            return  # closed by an earlier event of the same wake-up
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._send(run, frame(run.pipes[fd], data))
            return
        self.selector.unregister(fd)
        os.close(fd)
        del run.pipes[fd]
        if not run.pipes:
            self._wait(run, timeout=2.0)  # both closed: the child is exiting

    def _wait(self, run: _Run, timeout: float = 0.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while run.code is None:
            pid, status = os.waitpid(run.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                run.code = code if code >= 0 else 128 - code
                break
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)
        self._finish(run)

    def _reap(self) -> None:
        import time

        for run in list(self.runs.values()):
            if run.code is None:
                self._wait(run)
            if run.code is None and run.cancelled_at is not None and time.monotonic() - run.cancelled_at > 20:
                _kill(run)

    def _finish(self, run: _Run) -> None:
        """The child exited: what is left in its pipes, then its exit code, go to the client."""
        for fd in list(run.pipes):
            while True:
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:
                    break
                if not data:
                    break
                self._send(run, frame(run.pipes[fd], data))
            self.selector.unregister(fd)
            os.close(fd)
        run.pipes.clear()
        if run.conn is not None:
            self._send(run, frame(b"x", str(run.code).encode()))
            self._drop_conn(run)
        self.runs.pop(run.pid, None)

    def close(self, grace: float = 20.0) -> None:
        """Stop every run still going (as Ctrl-C would), wait up to ``grace`` seconds, then kill what is left."""
        import time

        for run in list(self.runs.values()):
            self._cancel(run)
        deadline = time.monotonic() + grace
        while self.runs and time.monotonic() < deadline:
            for run in list(self.runs.values()):
                for fd in list(run.pipes):
                    try:
                        while os.read(fd, 1 << 16):
                            pass
                    except OSError:
                        pass
                self._wait(run)
            time.sleep(0.05)
        for run in list(self.runs.values()):
            _kill(run)
            self._wait(run, timeout=5)
        self.selector.close()
        self.sock.close()


def serve_local_api(port: int = 0, *, ready: Callable[[str], None] = print, timeout: float = 90.0,
                    command: Callable[[dict], None] | None = None, idle_timeout: float = 0.0) -> str:
    """Run the embedded API until this process is stopped, where every productreel command finds and reuses it.

    Its URL, this process's id and (with a ``command``) the loopback
    address that takes submitted runs (flows/submit.py) go to
    PREFECT_HOME/productreel-api.json (atomically), the runs' token to
    productreel-api.token (0600); both are removed when the server stops.
    While the API starts, this process imports Prefect and the libraries a
    run uses, so each submitted run's child has them; ``command(request)`` is what
    a child runs (the CLI's entry; None: no submitted runs, the API only). Returns "idle" when
    nothing ran for ``idle_timeout`` seconds (0: never); raises
    ProductreelError when one already runs for this PREFECT_HOME or the API exits.
    """
    import contextlib

    from flows.runtime import LOCAL_API_FILE, _Server, find_local_api, prefect_home
    from productreel.atomic import write_json
    from productreel.errors import ProductreelError

    running = find_local_api()
    if running:
        raise ProductreelError(f"a local Prefect API already runs at {running}", where=str(prefect_home() / LOCAL_API_FILE))
    state = prefect_home() / LOCAL_API_FILE
    server = _Server(port)
    listener = None
    submissions = command is not None
    try:
        if submissions:
            warm_imports()  # while the API starts
        try:
            server.wait_healthy(timeout)
        except RuntimeError as exc:  # e.g. the port is taken
            raise ProductreelError(str(exc), where=f"127.0.0.1:{server.port}") from exc
        info: dict[str, object] = {"url": server.url, "pid": os.getpid(), "server_pid": server.process.pid}
        if submissions:
            use_api(server.url)
            listener = SubmissionServer(write_token(prefect_home()), command=command)
            info["submit"] = list(listener.address)
        write_json(state, info)
        ready(server.url)
        if listener is None:
            server.process.wait()
        elif listener.serve(alive=lambda: server.process.poll() is None, idle_timeout=idle_timeout) == "idle":
            return "idle"
        raise ProductreelError(f"the local Prefect API exited with code {server.process.returncode}", where=server.url)
    finally:
        if listener is not None:
            listener.close()
        with contextlib.suppress(OSError, ValueError):
            import json

            if json.loads(state.read_text(encoding="utf-8")).get("pid") == os.getpid():
                state.unlink()
                if submissions:
                    (prefect_home() / TOKEN_FILE).unlink(missing_ok=True)
        server.stop()


def run_in_child(request: dict, out_w: int, err_w: int, command: Callable[[dict], None]) -> None:  # pragma: no cover
    """In the forked child: become the CLI process the client would have been, run the command, exit with its code.

    ``command(request)`` is the CLI's own entry (flows/cli.py hands it to the server), so this module does not import the CLI.
    """
    import atexit
    import io

    from flows.runtime import Stopped, _die_with_parent

    code: object = 1
    try:
        os.setpgid(0, 0)
        _die_with_parent()  # the server gone: this run stops (SIGTERM), as a CLI whose terminal closed
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (devnull, out_w, err_w):
            os.close(fd)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace",
                                      line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                                      line_buffering=True)
        os.chdir(str(request["cwd"]))
        mask = int(request.get("umask", 0o022))
        os.umask(mask)
        atomic = sys.modules.get("productreel.atomic")
        if atomic is not None:
            atomic._UMASK = mask
        env = child_environment(dict(request.get("env") or {}))
        os.environ.clear()
        os.environ.update(env)
        argv = [str(a) for a in request["argv"]]
        sys.argv = ["productreel", *argv]
        command(request)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except Stopped as stop:  # stopped before the command began (it says so itself once running)
        code = 128 + stop.signum
    except BaseException:  # noqa: BLE001 - a bug: its traceback goes to the client, as it would print there
        import traceback

        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - the exit code still goes back
        pass
    if code is None:
        code = 0
    elif not isinstance(code, int):
        try:
            sys.stderr.write(f"{code}\n")
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        code = 1
    os._exit(code)
