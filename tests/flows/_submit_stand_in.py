"""A `productreel server` stand-in for tests/flows/test_submit.py: the real SubmissionServer, a stand-in child.

    python tests/flows/_submit_stand_in.py PREFECT_HOME

Takes runs on loopback (one at a time: a run left behind makes the next one
refused) and writes productreel-api.json as `productreel server` does. Its
child echoes the request and exits 3, or with ``--wait`` as the last
argument, prints "waiting" and waits for a stop (SIGINT: exit 130). Each run
it starts adds a line to PREFECT_HOME/started.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flows import runtime, submit  # noqa: E402


def child(request, out_w, err_w):
    with open(Path(sys.argv[1]) / "started", "a") as fh:
        fh.write(" ".join(request["argv"]) + "\n")
    argv = request["argv"]
    if argv[-1] == "--wait":
        stopped = []
        signal.signal(signal.SIGINT, lambda *_: stopped.append(1))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        os.write(out_w, b"waiting\n")
        deadline = time.monotonic() + 60
        while not stopped and time.monotonic() < deadline:
            time.sleep(0.01)
        os.write(err_w, b"productreel: stopped\n")
        os._exit(130 if stopped else 0)
    os.write(out_w, f"argv={' '.join(argv)} cwd={request['cwd']}\n".encode())
    os.write(err_w, f"workers={request['env'].get('PRODUCTREEL_WORKERS')}\n".encode())
    os._exit(3)


def main() -> None:
    home = Path(sys.argv[1])
    server = submit.SubmissionServer(submit.write_token(home), run_child=child, max_runs=1)
    state = {"url": "http://127.0.0.1:9/api", "pid": os.getpid(), "submit": list(server.address)}
    (home / runtime.LOCAL_API_FILE).write_text(json.dumps(state))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve()
    finally:
        server.close(grace=5)


if __name__ == "__main__":
    main()
