"""The `campaign` flow: render and check a tagged set of products, pause for a person's approval, publish what they approved.

A marketing team triggers it from the Prefect UI (the `campaign` deployment)
or `productreel campaign`. The pause is Prefect's own
``pause_flow_run(wait_for_input=CampaignApproval)``: the UI shows a form with
approve/reject per clip and a comment, and the description carries the review
page link and the findings. Approved clips are published; every decision,
with its reviewer and reason, goes into the ledger.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import BaseModel

from flows import progress
from flows.orchestration import job_runner
from flows.tasks import finish, make_clips, publish_clips, start_run
from jobs.outputs import write_outputs
from jobs.plan import SAMPLE_CATALOG, plan_jobs, select
from productreel.ledger import Ledger, open_ledger
from productreel.models import JobOutcome


CAMPAIGN_DEPLOYMENT = "campaign/campaign"


class ClipDecision(BaseModel):
    """A reviewer's decision on one clip."""

    clip: str  # the job id: handle/market/kind/format
    approve: bool = True
    comment: str = ""


class CampaignApproval(RunInput):
    """What the reviewer sends to resume a paused campaign: a decision per clip and an overall comment."""

    clips: list[ClipDecision] = []
    reviewer: str = ""
    comment: str = ""


def reviewable(outcome: JobOutcome) -> bool:
    """A clip a reviewer can approve: it passed its checks (BLOCK-free), including one whose WARN findings await approval."""
    return bool(outcome.job_key) and outcome.verdict in ("publish", "needs-approval")


def select_products(products: list, tag: str) -> list:
    """The products carrying ``tag`` (case-insensitive); every product when the tag is empty."""
    if not tag:
        return products
    wanted = tag.strip().lower()
    return [p for p in products if wanted in {t.strip().lower() for t in p.tags}]


def review_description(results: list[JobOutcome], review_page: Path, limit: int = 60) -> str:
    """The pause description: the review page link, then each clip with its findings."""
    lines = [
        f"**Review page:** [{review_page}]({review_page.as_uri()})",
        "",
        "Approve or reject each clip below, add a comment, then submit to publish the approved clips.",
        "",
    ]
    for result in results[:limit]:
        verdict = {"publish": "passed", "needs-approval": "needs approval"}.get(result.verdict or "", result.status.value)
        lines.append(f"- `{result.job_id}` {verdict}" + (f": {result.error}" if result.error else ""))
        for finding in result.findings[:5]:
            lines.append(f"  - {finding.severity} {finding.rule}: {finding.message}")
    if len(results) > limit:
        lines.append(f"- … and {len(results) - limit} more on the review page")
    return "\n".join(lines)


def approval_form(results: list[JobOutcome], review_page: Path) -> type[CampaignApproval]:
    """The RunInput the pause waits for, pre-filled with one decision per clip that passed its checks."""
    decisions = [ClipDecision(clip=r.job_id, approve=True) for r in results if reviewable(r)]
    return CampaignApproval.with_initial_data(description=review_description(results, review_page), clips=decisions)


def apply_decisions(results: list[JobOutcome], approval: CampaignApproval, ledger: Ledger) -> tuple[list[JobOutcome], list[JobOutcome]]:
    """The outcomes with every reviewer decision applied (and recorded: who, why), and which of them were approved.

    A clip the reviewer left out of the form counts as rejected: only an
    explicit approval publishes. An approval also clears WARN findings that
    wait for one (compliance.gate reads the same ledger row).
    """
    decisions = {d.clip: d for d in approval.clips}
    who = approval.reviewer.strip() or "campaign reviewer"
    decided: list[JobOutcome] = []
    approved: list[JobOutcome] = []
    for result in results:
        if not reviewable(result):
            decided.append(result)
            continue
        decision = decisions.get(result.job_id)
        why = (decision.comment if decision and decision.comment else approval.comment) or ""
        if decision is not None and decision.approve:
            ledger.record_approval(result.job_key, "approved", who=who, why=why or "approved in the campaign review")
            result = result.model_copy(update={"verdict": "publish", "publish": ""})
            approved.append(result)
        else:
            ledger.record_approval(result.job_key, "rejected", who=who, why=why or "not in the reviewer's answer")
            result = result.model_copy(update={"verdict": "rejected", "publish": "rejected" + (f": {why}" if why else "")})
        decided.append(result)
    return decided, approved


@flow(name="campaign")
def campaign(
    tag: str = "",
    markets: list[str] = ["us"],  # noqa: B006 - Prefect parameters must be plain values
    kinds: list[str] = ["ad"],  # noqa: B006
    formats: list[str] = ["9:16"],  # noqa: B006
    template: str = "default",
    brand: str = "default",
    style: str | None = None,
    catalog: str = str(SAMPLE_CATALOG),
    out: str = "out/campaign",
    profile: str = "full",
    publish_to: str = "folder",
    source: str | None = None,
    limit: int = 0,
    approval_timeout: int = 7 * 24 * 3600,
    approval_poll: int = 5,
    publish_url: str | None = None,
) -> dict[str, Any]:
    """Render and check a campaign's clips, pause for approval, then publish the approved ones.

    ``template`` is a script template set (templates/NAME/), ``brand`` a brand kit, ``style`` an ad style.
    """
    logger = get_run_logger()
    run = start_run(catalog=catalog, source=source, since=None, out=out, profile=profile, publish_to=publish_to,
                    publish_url=publish_url, brand=brand, template=template, style=style, backend="compose", model=None,
                    formats=formats)
    run.catalog = select(run.catalog, tag=tag, limit=limit, catalog=catalog)
    jobs = plan_jobs(run.catalog.products, markets, kinds, {kind: formats for kind in kinds}, not_sold=run.notes)
    with job_runner("threads") as submit:
        outcomes = make_clips(run, jobs, submit, report_done=False)
        write_outputs(run.out_dir, outcomes, time.monotonic() - run.started, run.notes)  # the page the reviewer opens
        waiting = [o for o in outcomes if reviewable(o)]
        if waiting:
            page = run.out_dir / "index.html"
            logger.info("waiting for approval of %d clip(s); review page %s", len(waiting), page)
            approval = pause_flow_run(wait_for_input=approval_form(outcomes, page), timeout=approval_timeout,
                                      poll_interval=approval_poll)
            outcomes, approved = apply_decisions(outcomes, approval, open_ledger(run.options.ledger_url))
            logger.info("approved %d of %d", len(approved), len(waiting))
        outcomes = publish_clips(run, outcomes, submit)
    for outcome in outcomes:
        progress.job_done(outcome.job_id, outcome.status.value)
    return finish(run, outcomes, artifact_key="campaign")


# --- driving a paused campaign from the CLI ------------------------------------

Decide = Callable[[list[ClipDecision], str], CampaignApproval]


def paused_form(flow_run_id: Any) -> tuple[list[ClipDecision], str]:
    """The decisions a paused campaign offers (pre-filled) and its description, read back from the Prefect API."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.input.run_input import keyset_from_paused_state

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        keyset = keyset_from_paused_state(flow_run.state)
        schema = json.loads(client.read_flow_run_input(flow_run_id, keyset["schema"]))
        try:
            description = json.loads(client.read_flow_run_input(flow_run_id, keyset["description"]))
        except Exception:  # noqa: BLE001 - a pause without a description is still answerable
            description = ""
    defaults = schema.get("properties", {}).get("clips", {}).get("default", [])
    return [ClipDecision.model_validate(d) for d in defaults], description


def send_approval(flow_run_id: Any, approval: CampaignApproval) -> None:
    """Resume a paused campaign with the reviewer's decisions (what the Prefect UI's form does)."""
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(flow_run_id, run_input=approval.model_dump(mode="json"))


def wait_for_pause(flow_run_id_or_name: Any, done: Callable[[], bool] | None = None, poll: float = 0.5,
                   timeout: float = 3600) -> Any:
    """Wait until the flow run (by id, or by its unique name) is Paused; return its id, or None when it ended first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if isinstance(flow_run_id_or_name, str):
                runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_id_or_name])))
                run = runs[0] if runs else None
            else:
                run = client.read_flow_run(flow_run_id_or_name)
            if run is not None and run.state is not None:
                if run.state.is_paused():
                    return run.id
                if run.state.is_final():
                    return None
            if done is not None and done():
                return None
            time.sleep(poll)
    raise TimeoutError(f"campaign {flow_run_id_or_name} did not pause within {timeout:.0f} s")


def run_campaign_locally(decide: Decide, **params: Any) -> dict[str, Any]:
    """Run the campaign flow in this process and answer its approval pause with ``decide(clips, description)``.

    The flow runs in a thread on the embedded Prefect API; this thread waits
    for its Paused state, asks ``decide`` and resumes the run with the answer,
    exactly as the Prefect UI's form would.
    """
    from prefect.client.orchestration import get_client

    name = f"campaign-{uuid.uuid4().hex[:12]}"
    outcome: dict[str, Any] = {}
    # Start the embedded API here first, so the flow thread and this one share one server.
    with get_client(sync_client=True) as client:
        client.api_healthcheck()

    def target() -> None:
        try:
            outcome["summary"] = campaign.with_options(flow_run_name=name)(**params)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    flow_run_id = wait_for_pause(name, done=lambda: not thread.is_alive())
    if flow_run_id is not None:
        clips, description = paused_form(flow_run_id)
        send_approval(flow_run_id, decide(clips, description))
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["summary"]
