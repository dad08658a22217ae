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
    return not isinstance(exc, ProductreelError)
