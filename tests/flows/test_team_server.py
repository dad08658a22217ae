"""End to end on a real Prefect server: deployments from deploy/prefect.yaml, a process work pool and workers.

One server (SQLite, a free loopback port, a private PREFECT_HOME) serves the
whole module; every process it starts is stopped at the end.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from ._prefect_server import PrefectServer, kill_tree, read_json, settings_for, wait_for_state

from productreel.ledger import Ledger

pytestmark = pytest.mark.slow

DONE = {"rendered", "blocked", "published"}


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A Prefect server with the `cpu` process pool, the project's deployments and one worker."""
    server = PrefectServer(tmp_path_factory.mktemp("prefect-home"))
    try:
        server.start()
        # The README's steps: both pools, every deployment of deploy/prefect.yaml (no GPU worker is started).
        server.cli("work-pool", "create", "cpu", "--type", "process")
        server.cli("work-pool", "create", "gpu", "--type", "docker")
        server.cli("--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml")
        server.worker = server.start_worker("cpu", "worker-1")
        yield server
    finally:
        server.stop()


def _run(name: str, **parameters):
    from flows.orchestration import trigger_deployment

    return trigger_deployment(name, parameters)


def _finished_jobs(ledger_file: Path) -> list[str]:
    """Finished job ids, read without creating anything (the flow creates the tables)."""
    import sqlite3

    if not ledger_file.exists():
        return []
    try:
        with sqlite3.connect(f"file:{ledger_file}?mode=ro", uri=True, timeout=5) as conn:
            return [r[0] for r in conn.execute("SELECT job_id FROM jobs WHERE status IN ('rendered', 'blocked', 'published')")]
    except sqlite3.OperationalError:  # not created yet, or busy
        return []


def _probe_duration(path: Path) -> float:
    from productreel.media import probe

    return float(probe(path)["format"]["duration"])


def test_catalog_batch_deployment_completes_on_a_worker(team, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    out = tmp_path / "batch"
    with settings_for(team):
        with get_client(sync_client=True) as client:
            nightly = client.read_deployment_by_name("catalog-batch/nightly")
            generated = client.read_deployment_by_name("catalog-batch/generated")
        assert nightly.work_pool_name == "cpu" and generated.work_pool_name == "gpu"
        assert nightly.parameters["catalog"] == "samples/catalog.csv"
        schedule = nightly.schedules[0].schedule
        assert schedule.cron == "0 2 * * *" and schedule.timezone == "Europe/Berlin"
        assert generated.job_variables["env"]["PRODUCTREEL_BACKEND"] == "diffusion"

        run = _run("catalog-batch/nightly", limit=1, markets=["us"], kinds=["ad"], profile="tiny", out=str(out))
        wait_for_state(run.id, {"COMPLETED"}, server=team)
        with get_client(sync_client=True) as client:
            artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))

    summary = read_json(out / "summary.json")
    jobs = [j for j in summary["jobs"] if j["kind"]]
    assert len(jobs) == 1 and jobs[0]["status"] in DONE, summary
    clip = Path(jobs[0]["clip"])
    assert clip.is_file() and _probe_duration(clip) > 0
    rows = Ledger(f"sqlite:///{out / 'ledger.sqlite'}").all_jobs()
    assert [r["job_id"] for r in rows] == [f"{jobs[0]['handle']}/us/ad/9:16"]
    assert rows[0]["status"] in DONE and rows[0]["key"] == jobs[0]["job_key"]
    assert {a.key for a in artifacts} >= {"catalog-batch-summary", "catalog-batch-review"}


def test_campaign_deployment_publishes_only_the_clips_approved_through_the_client(team, tmp_path):
    from flows.campaign import CampaignApproval, ClipDecision, paused_form, send_approval

    out = tmp_path / "campaign"
    with settings_for(team):
        run = _run("campaign/campaign", tag="coffee", markets=["us"], kinds=["ad"], formats=["9:16"], profile="tiny",
                   out=str(out), approval_poll=1)
        wait_for_state(run.id, {"PAUSED"}, server=team)
        clips, description = paused_form(run.id)
        assert "Review page" in description and (out / "index.html").is_file()
        assert len(clips) == 2, description  # ceramic-mug and pour-over-coffee-set carry the tag
        approved, rejected = clips[0].clip, clips[1].clip
        send_approval(run.id, CampaignApproval(reviewer="qa", clips=[
            ClipDecision(clip=approved, approve=True),
            ClipDecision(clip=rejected, approve=False, comment="the mug handle is cut off"),
        ]))
        wait_for_state(run.id, {"COMPLETED"}, server=team)

    summary = {f"{j['handle']}/{j['market']}/{j['kind']}/{j['format']}": j for j in read_json(out / "summary.json")["jobs"]}
    assert summary[approved]["publish"] == "published"
    assert summary[rejected]["publish"].startswith("rejected")
    published = sorted(p.relative_to(out / "published").as_posix() for p in (out / "published").rglob("*.mp4"))
    handle = approved.split("/")[0]
    assert published == [f"us/{handle}/ad-9x16.mp4"]
    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
    assert ledger.approval(summary[approved]["job_key"])["decision"] == "approved"
    decision = ledger.approval(summary[rejected]["job_key"])
    assert decision["decision"] == "rejected" and decision["why"] == "the mug handle is cut off" and decision["who"] == "qa"
    assert ledger.receipt(summary[rejected]["job_key"], "folder") is None


def test_killed_worker_then_rerun_completes_every_job_exactly_once(team, tmp_path):
    out = tmp_path / "crash"
    ledger_file = out / "ledger.sqlite"
    params = dict(limit=2, markets=["us", "de"], kinds=["ad"], profile="tiny", out=str(out))
    with settings_for(team):
        run = _run("catalog-batch/nightly", **params)
        # Kill the worker and its flow run (SIGKILL, as a machine would die) once some jobs are done and some are not.
        deadline = time.monotonic() + 240
        done: list[dict] = []
        while time.monotonic() < deadline:
            done = _finished_jobs(ledger_file)
            if done:
                break
            time.sleep(0.2)
        assert done, team.logs()
        kill_tree(team.worker, signal.SIGKILL)
        before = Ledger(f"sqlite:///{ledger_file}").all_jobs()
        assert len([r for r in before if r["status"] in DONE]) < 4, "the batch finished before the kill"
        published_before = {p: p.stat().st_mtime_ns for p in (out / "published").rglob("*.mp4")} if (out / "published").exists() else {}

        team.worker = team.start_worker("cpu", "worker-2")
        rerun = _run("catalog-batch/nightly", **params)
        wait_for_state(rerun.id, {"COMPLETED"}, server=team)

    rows = Ledger(f"sqlite:///{ledger_file}").all_jobs()
    assert len(rows) == 4 and len({r["job_id"] for r in rows}) == 4
    assert all(r["status"] in DONE for r in rows), rows
    # No partial file under a final name: every clip and published copy is a whole MP4.
    for mp4 in out.rglob("*.mp4"):
        if ".tmp" not in mp4.name and not mp4.name.startswith("."):
            assert _probe_duration(mp4) > 0, mp4
    # Nothing published twice: copies made before the crash were not written again.
    for path, mtime in published_before.items():
        assert path.stat().st_mtime_ns == mtime, path
    summary = read_json(out / "summary.json")
    for job in summary["jobs"]:
        if job["status"] == "skipped" and job["publish"]:
            assert job["publish"] in {"published", "unchanged"}
