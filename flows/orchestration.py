"""Prefect mechanics the flows share: task runner choice, retry condition, cache keys, concurrency limits.

Everything here is Prefect's own machinery, configured for productreel: a
ThreadPool/Dask/Ray task runner picked by a flow parameter, global concurrency
limits named ``gpu`` and ``publish-<store>`` (created with defaults when
missing, so a laptop needs no set-up and a team tunes them with
``prefect gcl update``), and a cache key per job.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from prefect.concurrency.sync import concurrency
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from productreel.errors import InputError, is_transient
from productreel.models import stable_hash

RUNNERS = ("threads", "dask", "ray")
GPU_LIMIT = "gpu"
# Default slots per store: a folder takes parallel copies; storefront APIs throttle
# (Shopify's leaky bucket, WooCommerce on shared hosting); one feed file has one writer.
PUBLISH_SLOTS = {"folder": 4, "shopify": 2, "woocommerce": 2, "merchant-center": 1}


def default_workers() -> int:
    """Parallel jobs on this machine: Settings().workers (PRODUCTREEL_WORKERS), else the CPU count (at least 2)."""
    from jobs.plan import parallel_jobs

    return parallel_jobs()


def make_task_runner(choice: str = "threads", address: str | None = None, workers: int | None = None) -> TaskRunner:
    """A Prefect task runner: threads, Dask (a LocalCluster, or the scheduler at ``address``) or Ray."""
    workers = workers or default_workers()
    if choice == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if choice == "dask":
        from prefect_dask import DaskTaskRunner

        if address:
            return DaskTaskRunner(address=address)
        # One single-threaded process per worker: the compose renderer and the ledger's
        # SQLite are happiest without threads sharing an interpreter.
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None})
    if choice == "ray":
        try:
            from prefect_ray import RayTaskRunner
        except ImportError as exc:
            raise InputError("task runner 'ray' needs prefect-ray: pip install prefect-ray") from exc
        return RayTaskRunner(address=address) if address else RayTaskRunner()
    raise InputError(f"unknown task runner {choice!r}; choose one of {', '.join(RUNNERS)}")


Submit = Callable[..., Any]


@contextlib.contextmanager
def job_runner(choice: str = "threads", address: str | None = None, workers: int | None = None) -> Iterator[Submit]:
    """Yield ``submit(task, **params) -> PrefectFuture`` on the chosen task runner for the jobs of one flow run.

    "threads" uses the flow's own ThreadPoolTaskRunner; "dask" and "ray" start
    (or connect to) their cluster for the duration of the block.
    """
    if choice == "threads" and not address:
        yield lambda task, **params: task.submit(**params)
        return
    with make_task_runner(choice, address, workers) as runner:
        yield lambda task, **params: runner.submit(task, parameters=params)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn``: retry only transient failures (throttled, timeouts, 5xx, GPU out of memory)."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we classify, not handle
        return is_transient(exc)
    return False


# --- cache keys ---------------------------------------------------------------


def job_cache_key(context: Any, parameters: dict[str, Any]) -> str | None:
    """``cache_key_fn`` for make-clip: the job key (from the task's own ``JobInputs``) plus the ledger's state of that job.

    A hit means the ledger holds this job finished under the same job key,
    with the same approval and receipt as when the result was cached; anything
    else (never made, failed last time, a new key, a new approval or publish)
    runs the task again. The inputs are the ones the task gets: nothing is
    computed twice.
    """
    from productreel.ledger import FINISHED, open_ledger

    inputs = parameters.get("inputs")
    options = parameters.get("options")
    if inputs is None or options is None:
        return None
    ledger = open_ledger(options.ledger_url)
    row = ledger.job(inputs.job.id)
    if row is None or row["status"] not in FINISHED or row["key"] != inputs.key:
        return None
    approval = ledger.approval(inputs.key)
    receipt = ledger.receipt(inputs.key, options.destination)
    return "job-" + stable_hash(
        {
            "job": inputs.job.id,
            "key": inputs.key,
            "status": row["status"],
            "updated": str(row["updated_at"]),
            "approval": [approval["decision"], str(approval["created_at"])] if approval else None,
            "receipt": receipt.status if receipt else None,
            "out": options.out_dir,
        }
    )


# --- global concurrency limits -------------------------------------------------


def publish_limit(store: str) -> str:
    """The name of the global concurrency limit around writes to one store."""
    return f"publish-{store}"


def gpu_count() -> int:
    """GPUs this worker may use, from CUDA_VISIBLE_DEVICES or PRODUCTREEL_GPUS (without importing torch)."""
    from productreel.settings import Settings

    gpus = Settings().gpus
    if gpus:
        return max(1, gpus)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    devices = [d for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    return max(1, len(devices))


def ensure_concurrency_limits(stores: list[str] | tuple[str, ...] = ("folder",)) -> dict[str, int]:
    """Create the ``gpu`` and ``publish-<store>`` limits when missing; existing limits are left as a team set them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    wanted = {GPU_LIMIT: gpu_count()}
    for store in stores:
        wanted[publish_limit(store)] = PUBLISH_SLOTS.get(store, 2)
    limits: dict[str, int] = {}
    with get_client(sync_client=True) as client:
        for name, slots in wanted.items():
            try:
                limits[name] = client.read_global_concurrency_limit_by_name(name).limit
                continue
            except ObjectNotFound:
                pass
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=slots))
            except ObjectAlreadyExists:  # another run created it a moment ago
                pass
            limits[name] = slots
    return limits


@contextlib.contextmanager
def gpu_slot(needed: bool = True) -> Iterator[None]:
    """Hold one slot of the ``gpu`` limit while generated shots are made (nothing when ``needed`` is False)."""
    if not needed:
        yield
        return
    with concurrency(GPU_LIMIT, occupy=1):
        yield


def paced(destination: Any) -> bool:
    """True when writes to this destination go through its ``publish-<store>`` limit.

    Every storefront API and every object store is paced. A folder destination
    on this machine's disk is not: the copy takes milliseconds, while a lease on
    the limit costs two API calls (and seconds on the embedded SQLite API when
    many tasks write at once).
    """
    name = destination if isinstance(destination, str) else destination.name
    if name != "folder":
        return True
    options = {} if isinstance(destination, str) else (destination.options or {})
    url = str(options.get("url") or "")
    return bool(url) and not url.startswith("file://")


@contextlib.contextmanager
def publish_slot(destination: Any) -> Iterator[None]:
    """Hold one slot of ``publish-<store>`` while writing to that store (a Destination or a store name)."""
    if not paced(destination):
        yield
        return
    name = destination if isinstance(destination, str) else destination.name
    with concurrency(publish_limit(name), occupy=1):
        yield


# --- deployments or local runs ----------------------------------------------------


def deployment_available(name: str) -> bool:
    """True when PREFECT_API_URL points to a server that has the deployment ``flow-name/deployment-name``."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return False
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
    except ObjectNotFound:
        return False
    return True


def trigger_deployment(name: str, parameters: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
    """Create a flow run of a deployment for its work pool's workers and return it at once (no waiting)."""
    from prefect.deployments import run_deployment

    return run_deployment(name, parameters=parameters, timeout=0, idempotency_key=idempotency_key, as_subflow=False)


def flow_run_url(flow_run_id: Any) -> str:
    """The Prefect UI page of a flow run (the API URL with /api replaced by the UI path)."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value() or ""
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else str(flow_run_id)
