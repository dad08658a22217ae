"""A run's first jobs, started before its flow: they render while Prefect is imported and its API comes up.

A CLI run spends seconds before its flow can start a task: importing Prefect
(≈ 2.5 s), and on the embedded default the API's own start (a second process
importing Prefect's server). ``HeadStart`` spends them on the run's own work:
it plans the jobs as the flow will (the same catalog read, selection, plan
and ``RunOptions``), runs them in order with ``run_job`` on ``workers``
threads, and hands each outcome to the flow's make-clip task for the same
job, job key and options (``take``). Once the flow begins its jobs
(``close``), no new job starts here: jobs not yet started are the flow's, and
the ones running are waited for by their task. Nothing is skipped that the
flow would make: the job key covers every input of the clip, the options
must be equal, and ``run_job`` records the outcome in the ledger as it would
inside the task. Plain threads, no Prefect (only flows/ imports it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from jobs.job import JobInputs, RunOptions, job_inputs, run_job, run_options
from productreel.models import JobOutcome, Product

log = logging.getLogger(__name__)

Planned = tuple[JobInputs, Product, RunOptions]
RunJob = Callable[[JobInputs, Product, RunOptions], JobOutcome]


class HeadStart:
    """Jobs started before the flow, each handed to the flow's task for the same job, key and options."""

    def __init__(self, workers: int, *, run: RunJob | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="head-start")
        self._run = run or (lambda inputs, product, options: run_job(inputs, product, options))
        self._lock = threading.Lock()
        self._closed = False
        self._started: dict[tuple[str, str], tuple[RunOptions, Future[JobOutcome]]] = {}
        self._planner: threading.Thread | None = None

    def start(self, plan: Callable[[], Iterable[Planned]]) -> HeadStart:
        """Plan in a background thread and submit each planned job at once, until ``close``."""
        self._planner = threading.Thread(target=self._submit_all, args=(plan,), name="head-start-plan", daemon=True)
        self._planner.start()
        return self

    def _submit_all(self, plan: Callable[[], Iterable[Planned]]) -> None:
        try:
            for inputs, product, options in plan():
                with self._lock:
                    if self._closed:
                        return
                    future = self._pool.submit(self._run, inputs, product, options)
                    self._started[(inputs.job.id, inputs.key)] = (options, future)
        except Exception as exc:  # noqa: BLE001 - the flow plans again and reports the same error properly
            log.debug("head start stopped planning: %s", exc)

    def close(self) -> None:
        """Start no more jobs: the ones not yet running are cancelled (the flow makes them)."""
        with self._lock:
            self._closed = True
            for key, (_, future) in list(self._started.items()):
                if future.cancel():
                    del self._started[key]

    def take(self, inputs: JobInputs, options: RunOptions) -> JobOutcome | None:
        """The outcome of this job if it was started here for the same key and options (waits for it); else None.

        Each outcome is handed over once: a retry of the task makes the job itself.
        """
        with self._lock:
            started = self._started.pop((inputs.job.id, inputs.key), None)
        if started is None:
            return None
        started_options, future = started
        if started_options != options or future.cancelled():
            if not future.cancel():
                future.exception()  # let it finish before the task makes the same clip again
            return None
        return future.result()

    def shutdown(self, *, wait: bool = True) -> None:
        """Close, then wait for the jobs still running (their outcomes are in the ledger; a rerun skips them).

        ``wait=False`` when the command is stopping: its processes are stopped next, and nothing is waited for.
        """
        self.close()
        self._pool.shutdown(wait=wait, cancel_futures=True)

    @property
    def started(self) -> list[str]:
        """Ids of the jobs started here and not yet handed over."""
        with self._lock:
            return [job_id for job_id, _ in self._started]


_current: HeadStart | None = None
_current_lock = threading.Lock()


def begin(head: HeadStart) -> HeadStart:
    """Make ``head`` the head start of this process's run (the one ``take`` and ``close`` reach)."""
    global _current
    with _current_lock:
        _current = head
    return head


def end(*, wait: bool = True) -> None:
    """Shut the current head start down (see ``HeadStart.shutdown``) and forget it."""
    global _current
    with _current_lock:
        head, _current = _current, None
    if head is not None:
        head.shutdown(wait=wait)


def close() -> None:
    """The flow begins its jobs: the current head start starts no more."""
    with _current_lock:
        head = _current
    if head is not None:
        head.close()


def take(inputs: JobInputs, options: RunOptions) -> JobOutcome | None:
    """The current head start's outcome for this job, key and options, or None."""
    with _current_lock:
        head = _current
    return head.take(inputs, options) if head is not None else None


def plan_batch(*, catalog: str, markets: list[str], kinds: list[str], out: str, limit: int = 0,
               source: str | None = None, since: str | None = None, profile: str = "full", publish_to: str = "folder",
               formats: dict[str, list[str]] | None = None, brand: str = "default", template: str = "default",
               style: str | None = None, backend: str | None = None, model: str | None = None,
               products: list[str] | None = None, **_: Any) -> Callable[[], Iterator[Planned]]:
    """The jobs of a catalog-batch run with these parameters, in the order the flow starts them, each with its inputs.

    The run's options are made (and its ledger opened) here, at once; the
    catalog read and each job's inputs come from the returned generator, the
    same steps as the flow's ``start_run``, ``select`` and ``plan_jobs``. A job
    whose inputs cannot be computed is left to the flow (which records its failure).
    """
    from jobs.plan import DEFAULT_FORMATS, plan_jobs, read_catalog, select, start_order
    from productreel.ledger import open_ledger
    from productreel.settings import Settings

    settings = Settings()
    names = [n.strip() for n in (publish_to or "").split(",") if n.strip()]
    options = run_options(out, settings=settings, profile=profile, publish_to=names, brand=brand, template=template,
                          style=style, backend=backend, model=model,
                          formats=sorted({f for fs in (formats or DEFAULT_FORMATS).values() for f in fs}))
    open_ledger(options.ledger_url)  # its tables created once, here, before any thread uses it

    def planned() -> Iterator[Planned]:
        read = read_catalog(catalog, source, since, cache_dir=Path(settings.cache_dir) / "images")
        read = select(read, wanted=products, limit=limit, catalog=catalog)
        jobs = plan_jobs(read.products, markets, kinds, formats, not_sold=[])
        for job, product in (jobs[i] for i in start_order(jobs)):  # the order the flow starts them in
            try:
                inputs = job_inputs(job, product, options)
            except Exception:  # noqa: BLE001 - the flow computes it again and records the failure
                continue
            yield inputs, product, options

    return planned
