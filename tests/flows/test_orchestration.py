"""Prefect mechanics on their own: retry condition, task runner choice, concurrency limits, cache keys."""

from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from flows.orchestration import (
    ensure_concurrency_limits,
    gpu_slot,
    job_cache_key,
    make_task_runner,
    paced,
    publish_limit,
    publish_slot,
    retry_transient,
)
from productreel.errors import InputError, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Job, Product


def _flaky(error: Exception, fail_times: int):
    calls = {"n": 0}

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_transient)
    def flaky() -> int:
        calls["n"] += 1
        if calls["n"] <= fail_times:
            raise error
        return calls["n"]

    return flaky, calls


def test_transient_errors_are_retried(prefect_harness):
    flaky, calls = _flaky(TransientError("HTTP 503", product="mug"), fail_times=2)

    @flow
    def run() -> int:
        return flaky()

    assert run() == 3 and calls["n"] == 3


def test_permanent_errors_are_not_retried(prefect_harness):
    flaky, calls = _flaky(InputError("image is not a JPEG", product="mug"), fail_times=5)

    @flow
    def run() -> int:
        return flaky()

    with pytest.raises(InputError):
        run()
    assert calls["n"] == 1


def test_task_runner_choice():
    assert isinstance(make_task_runner("threads", workers=3), ThreadPoolTaskRunner)
    dask = make_task_runner("dask", address="tcp://127.0.0.1:8786")
    assert type(dask).__name__ == "DaskTaskRunner" and dask.address == "tcp://127.0.0.1:8786"
    local = make_task_runner("dask", workers=2)
    assert local.cluster_kwargs["n_workers"] == 2
    with pytest.raises(InputError, match="unknown task runner 'spark'"):
        make_task_runner("spark")


def test_ray_needs_prefect_ray():
    try:
        import prefect_ray  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pip install prefect-ray"):
            make_task_runner("ray")
    else:
        assert type(make_task_runner("ray")).__name__ == "RayTaskRunner"


def test_limits_are_created_once_and_then_left_as_the_team_set_them(prefect_harness):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

    limits = ensure_concurrency_limits(["merchant-center", "shopify"])
    assert limits["gpu"] >= 1 and limits[publish_limit("merchant-center")] == 1 and limits["publish-shopify"] == 2
    with get_client(sync_client=True) as client:
        client.update_global_concurrency_limit("publish-shopify", GlobalConcurrencyLimitUpdate(limit=5))
    assert ensure_concurrency_limits(["shopify"])["publish-shopify"] == 5


def test_slots_are_held_inside_the_blocks(prefect_harness):
    from prefect.client.orchestration import get_client

    ensure_concurrency_limits(["shopify"])

    def active(name: str) -> int:
        with get_client(sync_client=True) as client:
            return client.read_global_concurrency_limit_by_name(name).active_slots

    @flow
    def hold() -> tuple[int, int, int]:
        with gpu_slot():
            gpu = active("gpu")
        with gpu_slot(needed=False):
            none = active("gpu")
        with publish_slot(Destination(name="shopify")):
            store = active("publish-shopify")
        return gpu, none, store

    assert hold() == (1, 0, 1)
    assert active("gpu") == 0 and active("publish-shopify") == 0


def test_only_remote_stores_are_paced():
    assert paced("shopify") and paced(Destination(name="merchant-center"))
    assert paced(Destination(name="folder", options={"url": "s3://videos/productreel"}))
    assert not paced(Destination(name="folder")) and not paced(Destination(name="folder", options={"url": "file:///srv"}))


def test_job_cache_key_serves_only_finished_unchanged_jobs(tmp_path):
    from jobs.job import RunOptions, job_inputs

    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = Ledger(ledger_url)
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    product = Product(id="1", handle="mug", title="Mug", description="A stoneware mug.")
    options = RunOptions(out_dir=str(tmp_path), ledger_url=ledger_url, profile="tiny")
    inputs = job_inputs(job, product, options)
    params = dict(inputs=inputs, product=product, options=options)
    key = inputs.key

    assert job_cache_key(None, params) is None  # never made: run it
    ledger.record_job(job.id, key, "failed", error="bad image")
    assert job_cache_key(None, params) is None  # failed last time: run it again
    ledger.record_job(job.id, "an-older-key", "rendered")
    assert job_cache_key(None, params) is None  # made from other inputs (code, template, market)
    ledger.record_job(job.id, key, "rendered")
    hit = job_cache_key(None, params)
    assert hit and hit == job_cache_key(None, dict(params))
    changed = dict(params, inputs=job_inputs(job, product.model_copy(update={"title": "Big mug"}), options))
    assert job_cache_key(None, changed) is None  # the product changed: its job key no longer matches
    ledger.record_approval(key, "approved", who="ann", why="fine")
    assert job_cache_key(None, params) not in {None, hit}  # a decision since: the cached result is stale


def test_an_outcome_from_prefects_cache_is_reported_as_unchanged(prefect_harness, tmp_path):
    """A cache hit (the job made by an earlier run) is this run's skipped job, not a second "rendered" one."""
    from flows.tasks import collect
    from jobs.job import RunOptions
    from productreel.models import JobOutcome, JobStatus

    ledger_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    options = RunOptions(out_dir=str(tmp_path), ledger_url=ledger_url, profile="tiny")
    job = Job(handle="mug", market="us", kind="ad", format="9:16")
    made = JobOutcome(handle="mug", market="us", kind="ad", format="9:16", status=JobStatus.RENDERED, job_key="k1",
                      verdict="publish", publish="")
    Ledger(ledger_url).record_job(job.id, "k1", "rendered")
    calls = {"n": 0}

    @task(cache_key_fn=lambda context, parameters: f"test-collect-{tmp_path.name}", persist_result=True)
    def make() -> JobOutcome:
        calls["n"] += 1
        return made

    @flow
    def batch() -> JobStatus:
        return collect(make.submit(), job, options, key="k1").status

    assert batch() == JobStatus.RENDERED  # made in this run
    assert batch() == JobStatus.SKIPPED and calls["n"] == 1  # the second run's result came from the cache
