"""jobs.head_start: jobs started before the flow are handed to the flow's task for the same job, key and options only."""

from __future__ import annotations

import threading

import pytest

from jobs import head_start
from jobs.head_start import HeadStart, plan_batch
from jobs.job import JobInputs, RunOptions
from productreel.models import Job, JobOutcome, JobStatus


def _inputs(handle: str, key: str = "k1") -> JobInputs:
    return JobInputs.model_construct(job=Job(handle=handle, market="de", kind="ad", format="9:16"), key=key)


@pytest.fixture
def options(tmp_path) -> RunOptions:
    return RunOptions(out_dir=str(tmp_path / "out"), ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}", profile="tiny")


class Recorder:
    """A stand-in for run_job: records what ran; each job waits for its gate when one is set."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.gates: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def __call__(self, inputs, product, options) -> JobOutcome:
        gate = self.gates.get(inputs.job.handle)
        if gate is not None:
            assert gate.wait(30)
        with self.lock:
            self.ran.append(inputs.job.handle)
        return JobOutcome(handle=inputs.job.handle, market="de", kind="ad", format="9:16", status=JobStatus.RENDERED,
                          job_key=inputs.key)


def _planned(options, *handles):
    return lambda: iter([(_inputs(h), None, options) for h in handles])


def _wait_started(head: HeadStart, n: int) -> None:
    """Wait until the planner has submitted ``n`` jobs (a busy machine may take a while to run its thread)."""
    for _ in range(6000):
        if len(head.started) >= n:
            return
        threading.Event().wait(0.01)
    raise AssertionError(head.started)


def test_a_started_job_is_handed_over_once_for_the_same_key_and_options(options):
    run = Recorder()
    head = HeadStart(2, run=run).start(_planned(options, "mug", "lamp"))
    _wait_started(head, 2)
    for _ in range(6000):  # both ran before the flow begins (a job not yet running at close() is the flow's)
        if len(run.ran) == 2:
            break
        threading.Event().wait(0.01)
    head.close()
    outcome = head.take(_inputs("mug"), options)
    assert outcome is not None and outcome.handle == "mug" and outcome.status == JobStatus.RENDERED
    assert head.take(_inputs("mug"), options) is None  # a retry of the task makes the job itself
    assert head.take(_inputs("lamp", key="changed"), options) is None  # another key: not this clip
    head.shutdown()
    assert sorted(run.ran) == ["lamp", "mug"]


def test_other_options_are_not_handed_the_outcome(options):
    run = Recorder()
    head = HeadStart(1, run=run).start(_planned(options, "mug"))
    _wait_started(head, 1)
    head.close()
    assert head.take(_inputs("mug"), options.model_copy(update={"profile": "full"})) is None
    head.shutdown()


def test_jobs_not_yet_running_when_the_flow_begins_are_left_to_the_flow(options):
    run = Recorder()
    run.gates["mug"] = threading.Event()  # the one worker is busy with the mug
    head = HeadStart(1, run=run).start(_planned(options, "mug", "lamp", "vase"))
    _wait_started(head, 3)
    head.close()  # the flow begins: lamp and vase never start here
    assert head.started == ["mug/de/ad/9:16"]
    assert head.take(_inputs("lamp"), options) is None
    run.gates["mug"].set()
    assert head.take(_inputs("mug"), options).handle == "mug"
    head.shutdown()
    assert run.ran == ["mug"]


def test_a_job_that_raised_raises_in_the_task_and_the_module_hooks_reach_the_current_head(options):
    def boom(inputs, product, options):
        raise TimeoutError("throttled")

    head = head_start.begin(HeadStart(1, run=boom).start(_planned(options, "mug")))
    try:
        _wait_started(head, 1)
        head_start.close()
        with pytest.raises(TimeoutError):
            head_start.take(_inputs("mug"), options)
        assert head_start.take(_inputs("mug"), options) is None
    finally:
        head_start.end()
    assert head_start.take(_inputs("mug"), options) is None  # no head start: the task makes its job


def test_a_planning_error_starts_nothing(options):
    def bad():
        raise ValueError("catalog gone")

    run = Recorder()
    head = HeadStart(1, run=run).start(bad)
    head.close()
    head.shutdown()
    assert run.ran == [] and head.started == []


def test_plan_batch_plans_the_flows_jobs_with_the_flows_options(sample_catalog, tmp_path, monkeypatch):
    from jobs.job import job_inputs
    from jobs.plan import plan_jobs, select

    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path / "cache"))
    params = dict(catalog=str(sample_catalog), markets=["de", "us"], kinds=["ad"], out=str(tmp_path / "out"), limit=2,
                  profile="tiny", publish_to="folder")
    planned = list(plan_batch(**params)())
    assert [p[0].job.id for p in planned][:1] and all(p[0].key for p in planned)
    # The flow's own steps (start_run's options, the catalog read, select, plan_jobs) give the same jobs, keys, options.
    from jobs.job import run_options
    from jobs.plan import DEFAULT_FORMATS, read_catalog, start_order
    from productreel.settings import Settings

    settings = Settings()
    options = run_options(params["out"], settings=settings, profile="tiny", publish_to=["folder"], brand="default",
                          template="default", style=None, backend=None, model=None,
                          formats=sorted({f for fs in DEFAULT_FORMATS.values() for f in fs}))
    read = select(read_catalog(str(sample_catalog), cache_dir=settings.cache_dir / "images"), limit=2)
    jobs = plan_jobs(read.products, ["de", "us"], ["ad"], None, not_sold=[])
    assert [(i.job.id, i.key, o) for i, _, o in planned] == [
        (job.id, job_inputs(job, product, options).key, options) for job, product in (jobs[i] for i in start_order(jobs))]


def test_tutorials_start_first_and_the_plan_order_is_kept_otherwise():
    from jobs.plan import start_order

    kinds = ["ad", "ad", "tutorial", "ad", "tutorial"]
    jobs = [(Job(handle=f"p{i}", market="us", kind=k, format="9:16"), None) for i, k in enumerate(kinds)]
    assert start_order(jobs) == [2, 4, 0, 1, 3]
    assert start_order(jobs[:2]) == [0, 1] and start_order([]) == []
