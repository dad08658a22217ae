"""Benchmark Prefect's orchestration overhead: catalog-batch against the same stage functions in a plain loop.

In one run, on the same machine, the same tiny jobs (profile "tiny", by default
10 sample products x 10 markets x 2 ad formats = 200 jobs) are made twice:

1. a plain loop calling the very functions the tasks wrap (``jobs.job.prepare``,
   ``run_job`` and ``publish_job``, no Prefect at all), spread over
   ``--workers`` threads by a plain ThreadPoolExecutor;
2. the ``catalog-batch`` flow on the embedded Prefect API, with a
   ThreadPoolTaskRunner of the same ``--workers`` threads, so both sides do
   the same work with the same parallelism.

Each side gets a fresh output folder and ledger, after an untimed warm-up that
fills the image, font and model caches. On a shared machine the render times of
two passes differ by more than the overhead being measured, so each side also
clocks the time spent inside the stage functions themselves (the task bodies);
the orchestration overhead per job is

    ((flow wall - flow stage time) - (loop wall - loop stage time)) / jobs

i.e. what the flow spends outside the stage functions (task runs, states, cache
keys, result records, concurrency leases, artifacts, the review page) beyond
what the plain loop spends there. The raw difference of wall times is printed
too. Its share of the demo's
wall time is that overhead times the demo's job count over the demo's wall
time, measured here too (``--demo``, the `productreel demo` parameters) or
given (``--demo-seconds``). Targets: <= 50 ms per job and <= 5 % of the demo.

    .venv/bin/python bench/orchestration.py [--products 10] [--markets 10] [--workers N] [--demo | --demo-seconds S] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORMATS = ["9:16", "1:1"]
DEMO = dict(limit=4, markets=["us", "de", "jp"], kinds=["ad", "tutorial"], profile="full")


class StageClock:
    """Seconds spent inside the wrapped stage functions, summed over threads."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def wrap(self, fn):
        """``fn`` with its time added to this clock."""

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - started

        return timed


@contextlib.contextmanager
def clocked(clock: StageClock):
    """Time the task bodies of catalog-batch (``.fn`` is what Prefect's engine calls)."""
    import flows.tasks as cb

    tasks = [cb.read_catalog, cb.make_clip, cb.publish_clip]
    saved = [t.fn for t in tasks]
    saved_prepare = cb.prepare  # a job's inputs are computed in the flow, before its task: stage work too
    for t in tasks:
        t.fn = clock.wrap(t.fn)
    cb.prepare = clock.wrap(cb.prepare)
    try:
        yield
    finally:
        for t, fn in zip(tasks, saved):
            t.fn = fn
        cb.prepare = saved_prepare


def markets(count: int) -> list[str]:
    """The first ``count`` configured markets, us first."""
    from localization.markets import load_markets

    codes = sorted(load_markets())
    codes.remove("us")
    return ["us", *codes][:count]


def plain_loop(products: int, market_codes: list[str], out: Path, workers: int) -> tuple[float, float, int]:
    """The stage functions in a loop over ``workers`` threads, no Prefect: wall seconds, stage seconds, jobs."""
    from concurrent.futures import ThreadPoolExecutor

    from jobs.job import RunOptions, prepare, publish_job, publishable, run_job
    from jobs.plan import SAMPLE_CATALOG, plan_jobs, read_catalog
    from productreel.ledger import Ledger
    from productreel.models import Destination, JobOutcome
    from productreel.settings import Settings

    clock = StageClock()
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    options = RunOptions(out_dir=str(out), ledger_url=settings.ledger(out), profile="tiny")
    Ledger(options.ledger_url)
    read = clock.wrap(read_catalog)(str(SAMPLE_CATALOG), cache_dir=settings.cache_dir / "images")
    jobs = plan_jobs(read.products[:products], market_codes, ["ad"], {"ad": FORMATS})
    destination = Destination(name="folder")

    @clock.wrap
    def one(job_product):
        job, product = job_product
        inputs = prepare(job, product, options)
        if isinstance(inputs, JobOutcome):
            return
        outcome = run_job(inputs, product, options)
        if publishable(outcome, "folder"):
            publish_job(outcome, product, destination, options)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, jobs))
    return time.perf_counter() - started, clock.seconds, len(jobs)


def flow_run(products: int, market_codes: list[str], out: Path, workers: int) -> tuple[float, float, int, dict]:
    """The catalog-batch flow on ``workers`` threads: wall seconds, stage seconds, jobs and its summary."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.catalog_batch import catalog_batch

    clock = StageClock()
    started = time.perf_counter()
    with clocked(clock):
        summary = catalog_batch.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))(
            limit=products, markets=market_codes, kinds=["ad"], formats={"ad": FORMATS}, profile="tiny", out=str(out))
    jobs = sum(1 for j in summary["jobs"] if j["kind"])
    return time.perf_counter() - started, clock.seconds, jobs, summary


def demo_run(out: Path) -> tuple[float, int]:
    """`productreel demo` as the CLI runs it: seconds and jobs."""
    from flows.catalog_batch import catalog_batch

    started = time.perf_counter()
    summary = catalog_batch(out=str(out), **DEMO)
    return time.perf_counter() - started, sum(1 for j in summary["jobs"] if j["kind"])


def main() -> None:
    """Run both sides and print the overhead per job and its share of the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10)
    parser.add_argument("--markets", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1,
                        help="Threads on both sides (1: the stage clock then accounts for every second exactly).")
    parser.add_argument("--demo", action="store_true", help="Also run the demo (full profile) to measure its wall time.")
    parser.add_argument("--demo-seconds", type=float, default=None, help="The demo's wall time, measured elsewhere.")
    parser.add_argument("--demo-jobs", type=int, default=20, help="The demo's job count when --demo-seconds is given.")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from flows.runtime import quiet_prefect

    codes = markets(args.markets)
    work = Path(tempfile.mkdtemp(prefix="bench-orchestration-"))
    with quiet_prefect():
        plain_loop(1, codes[:1], work / "warm-loop", 1)  # caches: images, fonts, OCR model, markets
        flow_run(1, codes[:1], work / "warm-flow", 1)  # the embedded API's start-up is not per-job overhead
        loop_s, loop_stage, loop_jobs = plain_loop(args.products, codes, work / "loop", args.workers)
        flow_s, flow_stage, flow_jobs, summary = flow_run(args.products, codes, work / "flow", args.workers)
        demo_s, demo_jobs = (None, args.demo_jobs)
        if args.demo:
            demo_s, demo_jobs = demo_run(work / "demo")
        elif args.demo_seconds:
            demo_s = args.demo_seconds
    if flow_jobs != loop_jobs:
        raise SystemExit(f"the two sides made different job counts: flow {flow_jobs}, loop {loop_jobs}")

    # Thread-seconds outside the stage functions; with one worker, wall seconds.
    outside_flow = flow_s * args.workers - flow_stage
    outside_loop = loop_s * args.workers - loop_stage
    per_job_ms = (outside_flow - outside_loop) / flow_jobs * 1000 / args.workers
    raw_ms = (flow_s - loop_s) / flow_jobs * 1000
    share = per_job_ms / 1000 * flow_jobs / flow_s
    result = {
        "jobs": flow_jobs, "counts": summary["counts"], "workers": args.workers, "cpus": os.cpu_count(),
        "loop_s": round(loop_s, 2), "loop_stage_s": round(loop_stage, 2),
        "flow_s": round(flow_s, 2), "flow_stage_s": round(flow_stage, 2),
        "overhead_ms_per_job": round(per_job_ms, 1), "raw_wall_difference_ms_per_job": round(raw_ms, 1),
        "overhead_share_of_this_run": round(share, 4),
    }
    print(f"jobs={flow_jobs} (tiny) workers={args.workers} plain_loop={loop_s:.1f}s (stages {loop_stage:.1f}s) "
          f"catalog_batch={flow_s:.1f}s (stages {flow_stage:.1f}s); raw wall difference {raw_ms:.1f} ms per job")
    print(f"orchestration overhead: {per_job_ms:.1f} ms per job (target <= 50 ms), "
          f"{share:.1%} of this tiny run's wall time")
    if demo_s:
        share = per_job_ms / 1000 * demo_jobs / demo_s
        result.update(demo_s=round(demo_s, 1), demo_jobs=demo_jobs, overhead_share_of_demo=round(share, 4))
        print(f"demo: {demo_jobs} jobs in {demo_s:.1f}s; overhead share of the demo's wall time: {share:.2%} (target <= 5 %)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    print(f"overhead_ms_per_job={per_job_ms:.1f} share_of_tiny_run={result['overhead_share_of_this_run']:.4f}"
          + (f" share_of_demo={result['overhead_share_of_demo']:.4f}" if demo_s else ""))


if __name__ == "__main__":
    main()
