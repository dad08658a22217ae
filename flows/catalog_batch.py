"""The `catalog-batch` flow: every product x market x kind x format that changed, rendered, checked, published.

It reads like a table of contents: read the catalog, plan the jobs, make each
clip (localize -> script -> storyboard -> render -> check), publish what passed,
then write the summary and the review page. Each stage is a plain function in
its own room; this module only wires them into Prefect tasks.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from flows import progress
from flows.generation import generate_shots, generation_key
from flows.orchestration import RUNNERS, default_workers, ensure_concurrency_limits, job_cache_key, job_runner, publish_slot
from productreel.errors import ProductreelError, is_transient
from productreel.ledger import open_ledger
from productreel.models import Destination, Finding, Job, Product, stable_hash
from productreel.settings import ROOT, Settings

SAMPLE_CATALOG = ROOT / "samples" / "catalog.csv"
DEFAULT_FORMATS = {"ad": ["9:16"], "tutorial": ["16:9"]}


@dataclass
class JobResult:
    """What happened to one job, as the summary shows it."""

    handle: str
    market: str
    kind: str
    format: str
    status: str  # rendered, skipped, failed, blocked
    job_key: str = ""
    clip: str = ""
    poster: str = ""
    srt: str = ""
    vtt: str = ""
    duration: float = 0.0
    findings: list[dict[str, Any]] = field(default_factory=list)
    publish: str = ""
    error: str = ""
    source: str = ""
    passed: bool = False  # no BLOCK finding (a skipped job keeps the verdict of the run that made it)
    needs_approval: bool = False  # WARN findings wait for a person's approval in the ledger

    def as_dict(self) -> dict[str, Any]:
        """The summary.json row."""
        row = dict(self.__dict__)
        row["findings_count"] = len(self.findings)
        return row


def _retry_transient(task, task_run, state) -> bool:
    """Retry only transient failures (throttled, timeouts, 5xx, GPU OOM)."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we classify, not handle
        return is_transient(exc)
    return False


@task(name="read-catalog")
def read_catalog(catalog: str, source: str | None, since: str | None, cache_dir: str) -> tuple[list[Product], list[dict[str, str]]]:
    """Read the catalog and fetch every product's images; a product whose image fails is a problem, not a crash."""
    from catalog_adapters import is_remote, open_catalog
    from catalog_adapters.images import fetch_image
    from flows.secrets import register_secret_sources

    register_secret_sources()
    since_dt = datetime.fromisoformat(since) if since else None
    adapter = open_catalog(catalog, source, since=since_dt)
    products: list[Product] = []
    problems: list[dict[str, str]] = []
    remote = is_remote(catalog, source)
    base_dir = Path.cwd() if remote else Path(catalog).resolve().parent
    for product in adapter.products():
        try:
            if not product.images:
                raise ProductreelError("has no image", product=product.handle, where=product.source or None)
            for image in product.images:
                image.path = fetch_image(image.src, base_dir=base_dir, cache_dir=Path(cache_dir), remote=remote)
        except ProductreelError as exc:
            problems.append({"where": product.source, "product": product.handle, "reason": _one_line(exc)})
            continue
        products.append(product)
    for problem in adapter.problems:
        problems.append({"where": problem.where, "product": problem.product or "", "reason": problem.reason})
    return products, problems


def job_inputs(job: Job, product: Product, profile: str, destination: str, brand: str) -> tuple[str, Any, Any, Any]:
    """The job key and what it is made of (market, localized product, script): make-clip's inputs and its cache key."""
    from clips.compose import RENDERER_VERSION
    from clips.storyboard import STORYBOARD_VERSION
    from localization import localize
    from localization.markets import get_market
    from localization.templating import render_script

    market = get_market(job.market)
    lp = localize(product, market)
    script = render_script(lp, product, market, job.kind, brand=brand)
    key_data = {
        "product": product.content_hash,
        "market": market.model_dump(mode="json"),
        "kind": job.kind,
        "format": job.format,
        "templates": script.templates,
        "renderer": [RENDERER_VERSION, STORYBOARD_VERSION],
        "profile": profile,
        "brand": brand,
        "destination": destination,
    }
    generator = generation_key()  # empty on the compose backend, so compose keys stay as they were
    if generator:
        key_data["generator"] = generator
    return stable_hash(key_data), market, lp, script


# Cached by job key (flows.orchestration.job_cache_key): an unchanged, finished job is not even started.
@task(name="make-clip", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_retry_transient,
      cache_key_fn=job_cache_key, persist_result=True,
      task_run_name="{job.handle}/{job.market}/{job.kind}/{job.format}")
def make_clip(job: Job, product: Product, out_dir: str, ledger_url: str, profile: str, destination: str, brand: str) -> JobResult:
    """Localize, script, storyboard, render and check one job; skip it when the ledger has it with the same key."""
    from clips.compose import render
    from clips.storyboard import build_storyboard
    from clips.storyboard import apply_repair_hints
    from compliance import asset_manifest, check_with_repairs, gate, sign_clip

    ledger = open_ledger(ledger_url)
    result = JobResult(job.handle, job.market, job.kind, job.format, "failed", source=product.source)
    try:
        key, market, lp, script = job_inputs(job, product, profile, destination, brand)
        generator = generation_key()
        result.job_key = key
        if ledger.is_current(job.id, key):
            row = ledger.job(job.id) or {}
            outputs = row.get("outputs") or {}
            result.status = "skipped"
            result.passed = row.get("status") in {"rendered", "published"}
            report_data = outputs.get("report")
            if result.passed and report_data:
                from productreel.models import ComplianceReport

                verdict = gate(ComplianceReport.model_validate(report_data), ledger, key)
                result.passed = verdict in {"publish", "needs-approval"}
                result.needs_approval = verdict == "needs-approval"
                if verdict == "needs-approval":
                    result.publish = "awaiting approval"
            result.findings = row.get("findings") or []
            for name in ("clip", "poster", "srt", "vtt"):
                setattr(result, name, outputs.get(name, ""))
            result.duration = float(outputs.get("duration", 0.0))
            receipt = ledger.receipt(key, destination)
            if receipt:
                result.publish = receipt.status
            return result
        ledger.record_job(job.id, key, "running")
        storyboard = build_storyboard(
            product, lp, script, market, job.kind, job.format,
            job_key=key, profile=profile, brand=brand, destination=destination, generated=bool(generator),
        )
        generated_findings = []
        if storyboard.has_generated:
            # A task of its own, holding a slot of the global `gpu` limit while the model runs.
            storyboard, generated_findings = generate_shots(storyboard)
        clip = render(storyboard, Path(out_dir) / "clips")
        assets = asset_manifest(storyboard, assets=storyboard.metadata.get("c2pa_assets") or None)
        clips_dir = Path(out_dir) / "clips"

        def rerender(hints: dict[str, Any]):
            # FIX findings the renderer can repair (contrast, text size, safe zone, loudness, captions).
            repaired = apply_repair_hints(storyboard, hints)
            return render(repaired, clips_dir), repaired

        clip, checked, repairs = check_with_repairs(
            clip, market, rerender=rerender, destination=destination, storyboard=storyboard, lp=lp,
            script_text=script.voiceover, assets=assets,
        )
        if repairs:
            checked.findings.append(Finding(rule="REPAIR", severity="INFO", message=f"re-rendered {len(repairs)}x to repair FIX findings",
                                            evidence={"hints": repairs[-1]}))
        # One report for the clip: what localization and generation found counts like what the checks found.
        report = checked.model_copy(update={"findings": [*lp.findings, *generated_findings, *checked.findings]})
        verdict = gate(report, ledger, key)
        if verdict != "blocked":
            # C2PA signing is the very last write to the clip; it reads the manifest back and verifies it.
            sign_clip(clip, generated=storyboard.has_generated, assets=assets, market=market.code)
            signed = Finding(rule="PROV-1", severity="INFO", message="signed with C2PA and verified",
                             evidence={"generated": storyboard.has_generated})
            report.findings = [f for f in report.findings if not (f.rule == "PROV-1" and f.severity == "INFO")] + [signed]
        findings = [f.model_dump(mode="json") for f in report.findings]
        result.findings = findings
        result.clip = str(clip.video)
        result.poster = str(clip.poster or "")
        result.srt = str(clip.srt or "")
        result.vtt = str(clip.vtt or "")
        result.duration = clip.duration
        result.status = "rendered" if report.passed else "blocked"
        result.passed = report.passed
        result.needs_approval = verdict == "needs-approval"
        if verdict == "needs-approval":
            rules = sorted({f.rule for f in report.findings if f.severity == "WARN"})
            result.publish = f"awaiting approval ({', '.join(rules)})"
        outputs = {"clip": result.clip, "poster": result.poster, "srt": result.srt, "vtt": result.vtt,
                   "duration": clip.duration, "metadata": str(clip.metadata or ""),
                   "report": report.model_dump(mode="json")}
        ledger.record_job(job.id, key, result.status, outputs=outputs, findings=findings)
    except ProductreelError as exc:
        if is_transient(exc):
            raise
        result.error = _one_line(exc)
        ledger.record_job(job.id, result.job_key or "-", "failed", error=result.error)
    return result


@task(name="publish-clip", retries=3, retry_delay_seconds=[2, 10, 30], retry_condition_fn=_retry_transient,
      task_run_name="publish {result.handle}/{result.market}/{result.kind}/{result.format}")
def publish_clip(result: JobResult, product: Product, destination: Destination, out_dir: str, ledger_url: str) -> JobResult:
    """Publish a clip that passed its checks; the ledger makes it exactly once."""
    from productreel.models import RenderedClip
    from publishers import publish

    clip = RenderedClip(
        job_key=result.job_key, product_handle=result.handle, market=result.market, kind=result.kind,
        format=result.format, video=Path(result.clip), srt=Path(result.srt) if result.srt else None,
        vtt=Path(result.vtt) if result.vtt else None, poster=Path(result.poster) if result.poster else None,
        duration=result.duration,
    )
    try:
        with publish_slot(destination):  # the global `publish-<store>` limit paces store writes
            receipt = publish(clip, product, destination, ledger=open_ledger(ledger_url), out_dir=Path(out_dir))
        result.publish = receipt.status
    except ProductreelError as exc:
        if is_transient(exc):
            raise
        result.publish = f"failed: {_one_line(exc)}"
    return result


def plan_jobs(products: list[Product], markets: list[str], kinds: list[str], formats: dict[str, list[str]] | None) -> list[tuple[Job, Product]]:
    """Every (product, market, kind, format) to make, in a stable order."""
    formats = formats or DEFAULT_FORMATS
    jobs = []
    for product in products:
        for market in markets:
            for kind in kinds:
                if kind == "tutorial" and not product.steps and not any(t.steps for t in product.translations.values()):
                    continue  # a tutorial needs how-to steps
                for fmt in formats.get(kind, DEFAULT_FORMATS[kind]):
                    jobs.append((Job(handle=product.handle, market=market, kind=kind, format=fmt), product))
    return jobs


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
    task_runner: str = "threads",
    scheduler: str | None = None,
    products: list[str] | None = None,
    publish_url: str | None = None,
) -> dict[str, Any]:
    """Render, check and publish every job of the catalog that changed since the last run.

    ``task_runner`` is one of threads (default), dask (a LocalCluster, or the
    scheduler at ``scheduler``) or ray; ``products`` keeps only these product
    ids or handles (the product-changed flow uses it); ``publish_url`` sends
    the folder destination to an fsspec URL (an object store shared by workers).
    """
    started = time.monotonic()
    settings = Settings()
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger_url = settings.ledger(out_dir)
    open_ledger(ledger_url)  # create the tables once, before the threads start
    if task_runner not in RUNNERS:
        raise ValueError(f"task_runner must be one of {', '.join(RUNNERS)}, not {task_runner!r}")
    ensure_concurrency_limits([publish_to] if publish_to else [])

    wanted = set(products or [])
    products_, problems = read_catalog(catalog, source, since, str(settings.cache_dir / "images"))
    if wanted:
        products_ = [p for p in products_ if p.id in wanted or p.handle in wanted]
        problems = [p for p in problems if p["product"] in wanted]
        seen = {p.id for p in products_} | {p.handle for p in products_} | {p["product"] for p in problems}
        for name in sorted(wanted - seen):  # a named product that is not there is said, not silently skipped
            problems.append({"where": catalog, "product": name, "reason": f"product {name!r} is not in the catalog {catalog}"})
    if limit:
        products_ = products_[:limit]
    jobs = plan_jobs(products_, markets, kinds, formats)
    progress.planned(len(jobs))

    destination = Destination(name=publish_to, options={"url": publish_url} if publish_url else {})
    results: list[JobResult] = []
    with job_runner(task_runner, scheduler) as submit:
        futures = [
            submit(make_clip, job=job, product=product, out_dir=str(out_dir), ledger_url=ledger_url, profile=profile,
                   destination=publish_to, brand=brand)
            for job, product in jobs
        ]
        publish_futures = []
        for (job, product), future in zip(jobs, futures):
            result = future.result()
            if result.passed and not result.needs_approval and publish_to and result.publish in {"", "failed"}:
                publish_futures.append(submit(publish_clip, result=result, product=product, destination=destination,
                                              out_dir=str(out_dir), ledger_url=ledger_url))
            else:
                results.append(result)
                progress.job_done(job.id, result.status)
        for future in publish_futures:
            result = future.result()
            results.append(result)
            progress.job_done(f"{result.handle}/{result.market}/{result.kind}/{result.format}", result.status)

    for problem in problems:
        results.append(JobResult(problem["product"] or "?", "", "", "", "failed", error=problem["reason"], source=problem["where"]))
    summary = write_outputs(out_dir, results, time.monotonic() - started)
    _artifacts(summary, out_dir)
    # A failed job (or unreadable product) does not fail the batch, it is listed in the artifact;
    # the run is Failed only when nothing at all succeeded.
    failed = [r for r in results if r.status == "failed"]
    if results and len(failed) == len(results):
        raise ProductreelError(f"every job failed ({len(failed)}), first: {failed[0].error}", where="catalog-batch")
    return summary


def write_outputs(out_dir: Path, results: list[JobResult], seconds: float) -> dict[str, Any]:
    """Write <out>/summary.json and the review page <out>/index.html, atomically."""
    from productreel.review import write_review_page

    order = {"failed": 0, "blocked": 1, "rendered": 2, "skipped": 3}
    rows = sorted((r.as_dict() for r in results), key=lambda r: (order.get(r["status"], 9), r["handle"], r["market"], r["kind"]))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    summary = {"out": str(out_dir), "seconds": round(seconds, 1), "counts": counts, "jobs": rows}
    tmp = out_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, out_dir / "summary.json")
    write_review_page(summary, out_dir / "index.html")
    return summary


def _artifacts(summary: dict[str, Any], out_dir: Path) -> None:
    """A table artifact of the run and a markdown link to the review page."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    try:
        create_table_artifact(
            key="catalog-batch-summary",
            table=[{k: r[k] for k in ("handle", "market", "kind", "format", "status", "findings_count", "publish", "error")} for r in summary["jobs"]],
            description=f"catalog-batch: {summary['counts']}",
        )
        failures = [f"- `{r['handle']}/{r['market']}/{r['kind']}/{r['format']}` {r['error']}"
                    for r in summary["jobs"] if r["status"] == "failed"]
        create_markdown_artifact(
            key="catalog-batch-review",
            markdown=f"Review page: [{out_dir / 'index.html'}](file://{out_dir / 'index.html'})\n\nCounts: {summary['counts']}"
            + ("\n\nFailed jobs:\n" + "\n".join(failures) if failures else ""),
        )
    except Exception as exc:  # noqa: BLE001 - artifacts are a convenience; the run's files are the record
        get_run_logger().warning("could not create artifacts: %s", exc)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
