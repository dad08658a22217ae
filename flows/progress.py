"""A tiny hook so the CLI can show progress bars while flow tasks run in worker threads."""

from __future__ import annotations

import threading
from typing import Protocol


class Listener(Protocol):
    """What the CLI's progress bar implements."""

    def planned(self, total: int) -> None: ...

    def done(self, job_id: str, status: str) -> None: ...


_lock = threading.Lock()
_listener: Listener | None = None


def set_listener(listener: Listener | None) -> None:
    """Install (or remove) the object told about planned and finished jobs."""
    global _listener
    with _lock:
        _listener = listener


def planned(total: int) -> None:
    """Tell the listener how many jobs the run will do."""
    with _lock:
        listener = _listener
    if listener is not None:
        listener.planned(total)


def job_done(job_id: str, status: str) -> None:
    """Tell the listener that a job finished."""
    with _lock:
        listener = _listener
    if listener is not None:
        listener.done(job_id, status)
