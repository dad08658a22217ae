"""The tasks every flow shares, and the one path that plans, submits and collects a run's jobs.

catalog-batch, campaign and product-changed all go through ``start_run`` ->
``make_clips`` -> ``publish_clips`` -> ``finish``; campaign only adds its
approval pause between the last two. The work itself is in jobs/ (plain
functions); this module wires it into Prefect tasks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from flows import progress
from flows.generation import generate_in_task
from flows.orchestration import Submit, ensure_concurrency_limits, job_cache_key, publish_slot, retry_transient
from jobs import head_start
from jobs.job import JobInputs, RunOptions, failed, prepare, publish_job, publishable, run_job, skipped
from jobs.outputs import write_outputs
from jobs.plan import CatalogRead, read_catalog as read_products, start_order
from productreel.errors import ProductreelError
from productreel.ledger import open_ledger
from productreel.models import Destination, Job, JobOutcome, JobStatus, Product
from productreel.settings import Settings


@task(name="read-catalog")
def read_catalog(catalog: str, source: str | None, since: str | None, cache_dir: str) -> CatalogRead:
    """Read the catalog and fetch every product's images; a product that fails is a problem line, not a crash."""
    from flows.secrets import register_secret_sources

    register_secret_sources()
    return read_products(catalog, source, since, cache_dir=Path(cache_dir))


# Cached by job key (flows.orchestration.job_cache_key): an unchanged, finished job is not even started.
@task(name="make-clip", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_transient,
      cache_key_fn=job_cache_key, persist_result=True,
      task_run_name="{inputs.job.handle}/{inputs.job.market}/{inputs.job.kind}/{inputs.job.format}")
def make_clip(inputs: JobInputs, product: Product, options: RunOptions) -> JobOutcome:
    """One job, from its inputs to its outcome (jobs.job.run_job), or from the run's head start when it began there."""
    started = head_start.take(inputs, options)
    return started if started is not None else run_job(inputs, product, options, generate=generate_in_task)


@task(name="publish-clip", retries=3, retry_delay_seconds=[2, 10, 30], retry_condition_fn=retry_transient,
      task_run_name="publish {outcome.handle}/{outcome.market}/{outcome.kind}/{outcome.format}")
def publish_clip(outcome: JobOutcome, product: Product, destinations: list[Destination], options: RunOptions) -> JobOutcome:
    """Publish a clip that passed its checks to each destination in order; the ledger makes each exactly once."""
    # The global `publish-<store>` limit paces each store's writes.
    return publish_job(outcome, product, destinations, options, slot=publish_slot)


@dataclass
class Run:
    """One flow run's shared state: its options, destination, catalog and clock."""

    options: RunOptions
    destinations: list[Destination]  # where passed clips go, in order
    catalog: CatalogRead
    started: float = field(default_factory=time.monotonic)
    notes: list[str] = field(default_factory=list)  # what the plan left out on purpose ("product mug: not sold in jp")

    @property
    def out_dir(self) -> Path:
        """The run's output folder."""
        return Path(self.options.out_dir)

    def product(self, handle: str) -> Product:
        """The catalog product of a job."""
        return next(p for p in self.catalog.products if p.handle == handle)


def start_run(*, catalog: str, source: str | None, since: str | None, out: str, profile: str, publish_to: str | None,
              publish_url: str | None, brand: str, template: str, style: str | None, backend: str | None,
              model: str | None, formats: list[str] | None = None,
              publish_options: dict[str, Any] | None = None) -> Run:
    """Check the run's choices, open the ledger and the concurrency limits, read the catalog.

    ``publish_to`` names one destination or several, comma-separated, in
    publishing order (``folder,merchant-center``): the clip is rendered once,
    for the strictest of their profiles, and published to each.
    """
    from jobs.job import run_options

    settings = Settings()
    names = [n.strip() for n in (publish_to or "").split(",") if n.strip()]
    options = run_options(out, settings=settings, profile=profile, publish_to=names, brand=brand, template=template,
                          style=style, backend=backend, model=model, formats=formats or ["9:16"])
    open_ledger(options.ledger_url)  # create the tables once, before the threads start
    ensure_concurrency_limits(names)
    shared = dict(publish_options or {})  # e.g. base_url: where the folder's files are served, which the feed links
    destinations = [Destination(name=n, options={**shared, **({"url": publish_url} if publish_url and n == "folder" else {})})
                    for n in names]
    read = read_catalog(catalog, source, since, str(settings.cache_dir / "images"))
    return Run(options=options, destinations=destinations, catalog=read)


def make_clips(run: Run, jobs: list[tuple[Job, Product]], submit: Submit, *, report_done: bool = True) -> list[JobOutcome]:
    """Compute each job's inputs once, submit the jobs, and collect every outcome (a job's failure is its own)."""
    head_start.close()  # jobs the CLI started before the API was up are handed over; no new ones start there
    progress.planned(len(jobs))
    failed_now: dict[int, JobOutcome] = {}
    submitted = {}
    for i in start_order(jobs):  # longer clips first; outcomes stay in the plan's order
        job, product = jobs[i]
        inputs = prepare(job, product, run.options)
        if isinstance(inputs, JobOutcome):  # its inputs could not be computed: failed already
            failed_now[i] = inputs
            progress.job_done(job.id, inputs.status.value)
            continue
        submitted[i] = (inputs, submit(make_clip, inputs=inputs, product=product, options=run.options))
    outcomes: list[JobOutcome] = [failed_now[i] for i in sorted(failed_now)]
    for inputs, future in (submitted[i] for i in sorted(submitted)):
        outcome = collect(future, inputs.job, run.options, key=inputs.key)
        outcomes.append(outcome)
        if report_done and not publishable(outcome, run.options.destination if run.destinations else None):
            progress.job_done(inputs.job.id, outcome.status.value)
    return outcomes


def publish_clips(run: Run, outcomes: list[JobOutcome], submit: Submit) -> list[JobOutcome]:
    """Publish every outcome that may be published now; return all outcomes, published ones updated."""
    if not run.destinations:
        return outcomes
    futures = {}
    for i, outcome in enumerate(outcomes):
        if publishable(outcome, run.options.destination):
            futures[i] = submit(publish_clip, outcome=outcome, product=run.product(outcome.handle),
                                destinations=run.destinations, options=run.options)
    result = list(outcomes)
    for i, future in futures.items():
        try:
            result[i] = future.result()
        except Exception as exc:  # noqa: BLE001 - retries ran out (throttled, 5xx): this clip's publish failed
            result[i] = outcomes[i].model_copy(update={"publish": f"failed: {' '.join(str(exc).split())}"})
        progress.job_done(result[i].job_id, result[i].status.value)
    return result


def collect(future: Any, job: Job, options: RunOptions, *, key: str = "") -> JobOutcome:
    """A job's outcome from its future; a task that still raised (retries ran out, a crash) fails that job alone.

    An outcome Prefect's cache returned (``job_cache_key``: the ledger holds the job finished under the same key)
    was made by an earlier run: it is this run's unchanged job, with today's approval and receipt, as ``run_job``
    reports it when the task does run.
    """
    try:
        outcome = future.result()
    except Exception as exc:  # noqa: BLE001 - one job's failure never stops the batch
        return failed(job, exc, options, key=key)
    cached = getattr(getattr(future, "state", None), "name", "") == "Cached"
    if cached and outcome.status in (JobStatus.RENDERED, JobStatus.BLOCKED):
        outcome = skipped(outcome, open_ledger(options.ledger_url), options)
    return outcome


def finish(run: Run, outcomes: list[JobOutcome], *, artifact_key: str = "catalog-batch") -> dict[str, Any]:
    """Write summary.json and the review page (always), and the Prefect artifacts."""
    summary = write_outputs(run.out_dir, [*outcomes, *run.catalog.problems], time.monotonic() - run.started, run.notes)
    artifacts(summary, run.out_dir, artifact_key)
    return summary


def every_job_failed(summary: dict[str, Any]) -> None:
    """Fail the flow run only when nothing at all succeeded (a failed job is listed, not fatal)."""
    rows = summary["jobs"]
    failures = [r for r in rows if r["status"] == "failed"]
    if rows and len(failures) == len(rows):
        raise ProductreelError(f"every job failed ({len(failures)}), first: {failures[0]['error']}", where="catalog-batch")


def artifacts(summary: dict[str, Any], out_dir: Path, key: str) -> None:
    """A table artifact of the run and a markdown link to the review page."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    columns = ("handle", "market", "kind", "format", "status", "findings_count", "publish", "error")
    page = out_dir / "index.html"
    try:
        create_table_artifact(key=f"{key}-summary", table=[{k: r[k] for k in columns} for r in summary["jobs"]],
                              description=f"{key}: {summary['counts']}")
        failures = [f"- `{r['handle']}/{r['market']}/{r['kind']}/{r['format']}` {r['error']}"
                    for r in summary["jobs"] if r["status"] == "failed"]
        create_markdown_artifact(
            key=f"{key}-review",
            markdown=f"Review page: [{page}]({page.as_uri()})\n\nCounts: {summary['counts']}"
            + ("\n\nFailed jobs:\n" + "\n".join(failures) if failures else ""),
        )
    except Exception as exc:  # noqa: BLE001 - artifacts are a convenience; the run's files are the record
        get_run_logger().warning("could not create artifacts: %s", exc)
