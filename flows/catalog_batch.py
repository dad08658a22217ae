"""The `catalog-batch` flow: every product x market x kind x format that changed, rendered, checked, published.

It reads like a table of contents: read the catalog, plan the jobs, make each
clip (jobs.job.run_job: localize -> script -> storyboard -> render -> check ->
sign), publish what passed, then write the summary and the review page.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.orchestration import RUNNERS, default_workers, job_runner
from flows.tasks import every_job_failed, finish, make_clips, publish_clips, start_run
from jobs.plan import DEFAULT_FORMATS, SAMPLE_CATALOG, plan_jobs, select

__all__ = ["DEFAULT_FORMATS", "SAMPLE_CATALOG", "catalog_batch"]


# Threads: PRODUCTREEL_WORKERS, else the CPU count (read when a worker's flow-run process imports this module).
@flow(name="catalog-batch", task_runner=ThreadPoolTaskRunner(max_workers=default_workers()))
def catalog_batch(
    catalog: str = str(SAMPLE_CATALOG),
    markets: list[str] = ["us", "de", "jp"],  # noqa: B006 - Prefect parameters must be plain values
    kinds: list[str] = ["ad", "tutorial"],  # noqa: B006
    out: str = "out/run",
    limit: int = 0,
    source: str | None = None,
    since: str | None = None,
    profile: str = "full",
    publish_to: str = "folder",
    formats: dict[str, list[str]] | None = None,
    brand: str = "default",
    template: str = "default",
    style: str | None = None,
    backend: str | None = None,
    model: str | None = None,
    task_runner: str = "threads",
    scheduler: str | None = None,
    products: list[str] | None = None,
    publish_url: str | None = None,
    publish_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Render, check and publish every job of the catalog that changed since the last run.

    ``task_runner`` is one of threads (default), dask (a LocalCluster, or the
    scheduler at ``scheduler``) or ray; ``products`` keeps only these product
    ids or handles (the product-changed flow uses it); ``publish_url`` sends
    the folder destination to an fsspec URL (an object store shared by workers);
    ``publish_to`` is one destination or several in order (``folder,merchant-center``),
    sharing one render; ``backend`` diffusion makes generated hero shots with ``model`` (None: the
    worker's settings, PRODUCTREEL_BACKEND / PRODUCTREEL_MODEL, as the `gpu` pool sets them).
    """
    if task_runner not in RUNNERS:
        raise ValueError(f"task_runner must be one of {', '.join(RUNNERS)}, not {task_runner!r}")
    run = start_run(catalog=catalog, source=source, since=since, out=out, profile=profile, publish_to=publish_to,
                    publish_url=publish_url, brand=brand, template=template, style=style, backend=backend, model=model,
                    formats=sorted({f for fs in (formats or DEFAULT_FORMATS).values() for f in fs}),
                    publish_options=publish_options)
    run.catalog = select(run.catalog, wanted=products, limit=limit, catalog=catalog)
    jobs = plan_jobs(run.catalog.products, markets, kinds, formats, not_sold=run.notes)
    with job_runner(task_runner, scheduler) as submit:
        outcomes = make_clips(run, jobs, submit)
        outcomes = publish_clips(run, outcomes, submit)
    summary = finish(run, outcomes)
    every_job_failed(summary)
    return summary
