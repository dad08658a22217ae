"""One job from inputs to outcome: inputs computed once, then skip, storyboard, render, repair, gate, sign.

``job_inputs`` computes what a job is made of (market, localized product,
script) and its key, once; the flow hands the same ``JobInputs`` to Prefect's
cache key and to ``run_job``. ``run_job`` returns a typed ``JobOutcome`` and
stores it in the ledger; any exception inside a job fails that job alone (a
transient one is raised for the task's retries).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jobs.plan import one_line
from productreel.errors import ProductreelError, is_transient
from productreel.ledger import Ledger, open_ledger
from productreel.models import (
    Destination,
    Finding,
    Job,
    JobOutcome,
    JobStatus,
    LocalizedProduct,
    Market,
    Product,
    Script,
    Storyboard,
    stable_hash,
)
from productreel.settings import Settings

log = logging.getLogger(__name__)

# Fills a storyboard's generated shots: (storyboard, settings) -> (storyboard, findings).
Generate = Callable[[Storyboard, Settings], tuple[Storyboard, list[Finding]]]


class RunOptions(BaseModel):
    """The choices of one run that every job shares (flow parameters, never environment variables)."""

    out_dir: str
    ledger_url: str
    profile: str = "full"
    destination: str = "folder"  # what the clip is rendered and checked for (safe zones, loudness, rules)
    publish_to: list[str] = Field(default_factory=list)  # where it goes, in order (a host before a feed)
    brand: str = "default"  # brand kit: colours, fonts, logo (clips/brands/NAME.yaml)
    template: str = "default"  # script template set (templates/NAME/)
    style: str | None = None  # ad style (None: the brand's or the default)
    backend: str = "compose"
    model: str | None = None

    def settings(self) -> Settings:
        """Machine settings with this run's backend and model."""
        overrides: dict[str, Any] = {"backend": self.backend}
        if self.model:
            overrides["model"] = self.model
        return Settings(**overrides)


class JobInputs(BaseModel):
    """What one job is made of, computed once: the source of its key and the task's argument."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    job: Job
    key: str
    market: Market
    lp: LocalizedProduct
    script: Script
    generator: dict[str, Any] = Field(default_factory=dict)  # the model that makes generated shots; empty on compose


def render_profile(destination: str, fmt: str) -> dict[str, Any]:
    """What about a destination changes the clip in this format: safe zone, loudness, captions, length."""
    from clips.profiles import destination_profile

    return destination_profile(destination, fmt).model_dump(mode="json", exclude={"name"})


def render_destination(destinations: list[str], formats: list[str]) -> str:
    """The one destination a multi-destination run renders and checks for: the strictest safe zone.

    A folder or a storefront keeps clear of every social UI, a feed adds no
    margins of its own, so ``folder,merchant-center`` renders once, for the
    folder's profile, and both publish that one clip (the feed links the
    folder's copy).
    """
    from clips.profiles import destination_profile

    if not destinations:
        return "folder"

    def margins(name: str) -> float:
        total = 0.0
        for fmt in formats or ["9:16"]:
            safe = destination_profile(name, fmt).safe
            total += safe.top + safe.bottom + safe.left + safe.right
        return total

    return max(destinations, key=lambda name: (margins(name), -destinations.index(name)))


def generation_key(settings: Settings) -> dict[str, Any]:
    """What about the model changes a generated shot (for the job key); empty on the compose backend."""
    if settings.backend != "diffusion":
        return {}
    from clips.diffusion import model_key

    return model_key(settings)


def voice_key(market: Market, kind: str) -> dict[str, Any]:
    """What about the voice changes the clip (for the job key): the neural voice and its revision; empty for espeak-ng."""
    from clips.voices import pick_voice

    return pick_voice(market, kind).key()


def job_inputs(job: Job, product: Product, options: RunOptions) -> JobInputs:
    """Localize, template the script and compute the job key: everything that changes the clip, hashed."""
    from clips.compose import RENDERER_VERSION
    from clips.storyboard import STORYBOARD_VERSION
    from localization import localize
    from localization.markets import get_market
    from localization.templating import check_template_set, render_script

    check_template_set(options.template)
    market = get_market(job.market)
    lp = localize(product, market)
    script = render_script(lp, product, market, job.kind, brand=options.brand, template=options.template)
    key_data: dict[str, Any] = {
        "product": product.content_hash,
        "market": market.model_dump(mode="json"),
        "kind": job.kind,
        "format": job.format,
        "templates": script.templates,
        "renderer": [RENDERER_VERSION, STORYBOARD_VERSION],
        "profile": options.profile,
        "brand": options.brand,
        # The destination's render profile, not its name: destinations that share a profile share a render.
        "destination": render_profile(options.destination, job.format),
    }
    # Only non-default choices enter the key, so keys of runs that never chose them stay as they were.
    if options.template != "default":
        key_data["template"] = options.template
    if options.style:
        key_data["style"] = options.style
    generator = generation_key(options.settings())
    if generator:
        key_data["generator"] = generator
    voice = voice_key(market, job.kind)
    if voice:  # a neural voice; espeak-ng, the default, leaves the key as it was
        key_data["voice"] = voice
    return JobInputs(job=job, key=stable_hash(key_data), market=market, lp=lp, script=script, generator=generator)


def prepare(job: Job, product: Product, options: RunOptions) -> JobInputs | JobOutcome:
    """The job's inputs, or its failed outcome (recorded in the ledger) when computing them raised anything."""
    try:
        return job_inputs(job, product, options)
    except Exception as exc:  # noqa: BLE001 - one job's bad input or bug fails that job alone
        return failed(job, exc, options, source=product.source)


def run_job(inputs: JobInputs, product: Product, options: RunOptions, *, generate: Generate | None = None) -> JobOutcome:
    """Make one job: skip it when the ledger has it under the same key, else storyboard, render, check, gate and sign.

    A transient error (throttled, GPU out of memory) is raised for the caller's
    retries; anything else fails this job alone, with a one-line error and,
    for an unexpected exception, its traceback in ``<out>/logs/``.
    """
    ledger = open_ledger(options.ledger_url)
    try:
        previous = ledger.outcome(inputs.job.id)
        if previous is not None and previous.job_key == inputs.key and previous.status.finished:
            return skipped(previous, ledger, options)
        ledger.record_job(inputs.job.id, inputs.key, JobStatus.RUNNING.value)
        outcome = _make(inputs, product, options, ledger, generate)
    except Exception as exc:
        if is_transient(exc):
            raise
        outcome = failed(inputs.job, exc, options, key=inputs.key, source=product.source)
        return outcome
    ledger.record_outcome(outcome)
    return outcome


def _make(inputs: JobInputs, product: Product, options: RunOptions, ledger: Ledger, generate: Generate | None) -> JobOutcome:
    from clips.compose import render
    from clips.storyboard import REPAIR_KEYS, apply_repair_hints, build_storyboard
    from clips.voices import pick_voice
    from compliance import asset_manifest, check_with_repairs, gate, sign_clip
    from localization.translation import translation_assets

    job, market, lp, script, key = inputs.job, inputs.market, inputs.lp, inputs.script, inputs.key
    storyboard = build_storyboard(
        product, lp, script, market, job.kind, job.format, job_key=key, profile=options.profile,
        brand=options.brand, destination=options.destination, generated=bool(inputs.generator),
        **({"style": options.style} if options.style else {}),
    )
    generated_findings: list[Finding] = []
    if storyboard.has_generated:
        storyboard, generated_findings = (generate or _generate_here)(storyboard, options.settings())
    clips_dir = Path(options.out_dir) / "clips"
    # The voice (a neural one when pulled and licensed for ads, else espeak-ng with an INFO finding) is an asset:
    # its name, licence and revision go into the asset manifest (LIC-1) and the C2PA ingredients.
    voice = pick_voice(market, job.kind) if storyboard.voiceover.strip() else None
    clip = render(storyboard, clips_dir, voice=voice)
    given = [*storyboard.metadata.c2pa_assets, *([voice.asset] if voice and voice.asset else [])]
    # So are the translation models that wrote the copy: their licence and the attribution CC-BY asks for.
    given += translation_assets(lp.findings)
    assets = asset_manifest(storyboard, assets=given or None)

    def rerender(hints: dict[str, Any]):
        # FIX findings the renderer can repair (contrast, text size, safe zone, loudness, captions, layout).
        repaired = apply_repair_hints(storyboard, hints)
        return render(repaired, clips_dir, voice=voice), repaired

    clip, checked, repairs = check_with_repairs(
        clip, market, rerender=rerender, repairable=REPAIR_KEYS, destination=options.destination, storyboard=storyboard,
        lp=lp, script_text=script.voiceover, assets=assets,
    )
    # One report for the clip: what localization, generation and the photo gate found counts like the checks.
    findings = [*lp.findings, *generated_findings, *storyboard.metadata.findings, *(voice.findings if voice else []),
                *checked.findings]
    if repairs:
        findings.append(Finding(rule="REPAIR", severity="INFO", message=f"re-rendered {len(repairs)}x to repair FIX findings",
                                evidence={"hints": repairs[-1]}))
    report = checked.model_copy(update={"findings": findings})
    verdict = gate(report, ledger, key)
    if verdict != "blocked":
        # C2PA signing is the very last write to the clip; it reads the manifest back and verifies it.
        sign_clip(clip, generated=storyboard.has_generated, assets=assets, market=market.code)
        findings = [f for f in findings if not (f.rule == "PROV-1" and f.severity == "INFO")]
        findings.append(Finding(rule="PROV-1", severity="INFO", message="signed with C2PA and verified",
                                evidence={"generated": storyboard.has_generated}))
    return JobOutcome(
        handle=job.handle, market=job.market, kind=job.kind, format=job.format,
        status=JobStatus.RENDERED if report.passed else JobStatus.BLOCKED, job_key=key, source=product.source,
        clip=str(clip.video), poster=str(clip.poster or ""), srt=str(clip.srt or ""), vtt=str(clip.vtt or ""),
        metadata=str(clip.metadata or ""), duration=clip.duration, destination=options.destination,
        findings=findings, verdict=verdict, publish=awaiting(verdict, findings), strings=lp.strings(),
    )


def _generate_here(storyboard: Storyboard, settings: Settings) -> tuple[Storyboard, list[Finding]]:
    from clips.diffusion import fill_generated_shots

    return fill_generated_shots(storyboard, settings=settings)


def awaiting(verdict: str | None, findings: list[Finding]) -> str:
    """The publish column while a clip waits: which WARN rules a person must approve, or that it was rejected."""
    if verdict == "needs-approval":
        rules = sorted({f.rule for f in findings if f.severity == "WARN"})
        return f"awaiting approval ({', '.join(rules)})"
    if verdict == "rejected":
        return "rejected"
    return ""


def skipped(previous: JobOutcome, ledger: Ledger, options: RunOptions) -> JobOutcome:
    """An unchanged job: the outcome of the run that made it, with today's approval and receipt."""
    from compliance import gate

    verdict = previous.verdict
    if previous.status == JobStatus.RENDERED:
        verdict = gate(previous.report, ledger, previous.job_key)
    receipts = [ledger.receipt(previous.job_key, name) for name in options.publish_to or [options.destination]]
    done = [r for r in receipts if r is not None]
    receipt = done[-1] if done and len(done) == len(receipts) else None  # published everywhere, or publish again
    return previous.model_copy(update={
        "status": JobStatus.SKIPPED, "verdict": verdict, "receipt": receipt, "destination": options.destination,
        "publish": publish_text(done, len(receipts)) if receipt else awaiting(verdict, previous.findings),
    })


def publish_text(receipts: list, destinations: int) -> str:
    """The publish column: a receipt's status, or each destination's when there are several."""
    if destinations <= 1:
        return receipts[0].status if receipts else ""
    return ", ".join(f"{r.destination}: {r.status}" for r in receipts)


def _log_name(job: Job) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{job.handle}__{job.market}__{job.kind}__{job.format}") + ".log"


def failed(job: Job, exc: BaseException, options: RunOptions, *, key: str = "", source: str = "") -> JobOutcome:
    """A failed job's outcome, recorded in the ledger; an unexpected exception's traceback goes to <out>/logs/."""
    error = one_line(exc)
    log_path = ""
    if not isinstance(exc, ProductreelError):
        error = f"{job.id}: {error}"
        log_path = str(write_traceback(Path(options.out_dir) / "logs" / _log_name(job), exc))
        error += f" (traceback: {Path(log_path).relative_to(Path(options.out_dir)).as_posix()})"
    outcome = JobOutcome(handle=job.handle, market=job.market, kind=job.kind, format=job.format, status=JobStatus.FAILED,
                         job_key=key, source=source, destination=options.destination, error=error, log=log_path)
    try:
        open_ledger(options.ledger_url).record_outcome(outcome)
    except Exception as ledger_exc:  # noqa: BLE001 - the outcome still reaches the summary
        log.warning("could not record the failure of %s in the ledger: %s", job.id, one_line(ledger_exc))
    return outcome


def write_traceback(path: Path, exc: BaseException) -> Path:
    """Write an exception's traceback to ``path`` (the file a seller sends with a bug report)."""
    from productreel.atomic import write_text

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return write_text(path, text)


def publish_job(outcome: JobOutcome, product: Product, destination: Destination | list[Destination], options: RunOptions,
                slot: Callable[[Destination], Any] | None = None) -> JobOutcome:
    """Publish a clip that passed and needs no approval, to each destination in order; the ledger makes each exactly once.

    A failure at one destination is that destination's (the others still get
    the clip); ``slot(destination)`` is a context manager around each store's
    writes (the flow's concurrency limit).
    """
    import contextlib

    from productreel.models import PublishReceipt
    from publishers import publish

    destinations = destination if isinstance(destination, list) else [destination]
    receipts: list[PublishReceipt] = []
    for dest in destinations:
        try:
            with slot(dest) if slot else contextlib.nullcontext():
                receipts.append(publish(outcome.rendered_clip(), product, dest, ledger=open_ledger(options.ledger_url),
                                        out_dir=Path(options.out_dir)))
        except Exception as exc:
            if is_transient(exc):
                raise
            receipts.append(PublishReceipt(destination=dest.name, job_key=outcome.job_key, status="failed",
                                           detail=one_line(exc)))
    failed_at = [r for r in receipts if r.status == "failed"]
    if len(receipts) == 1 and failed_at:
        return outcome.model_copy(update={"publish": f"failed: {failed_at[0].detail}", "receipt": failed_at[0]})
    text = publish_text(receipts, len(receipts))
    if len(receipts) > 1 and failed_at:
        text = ", ".join(f"{r.destination}: " + (f"failed: {r.detail}" if r.status == "failed" else r.status) for r in receipts)
    return outcome.model_copy(update={"publish": text, "receipt": failed_at[0] if failed_at else receipts[-1]})


def publishable(outcome: JobOutcome, destination: str | None) -> bool:
    """True when the clip passed, waits for nobody and has not been published there yet."""
    if not destination or outcome.verdict != "publish" or not outcome.clip:
        return False
    return outcome.receipt is None or outcome.receipt.status == "failed"


def run_options(out: str, *, settings: Any, profile: str, publish_to: list[str], brand: str, template: str,
                style: str | None, backend: str | None, model: str | None, formats: list[str]) -> RunOptions:
    """The RunOptions of a run writing to ``out`` (created): what the flow and its head start both pass to every job."""
    from localization.templating import check_template_set

    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    check_template_set(template)
    return RunOptions(out_dir=str(out_dir), ledger_url=settings.ledger(out_dir), profile=profile,
                      destination=render_destination(publish_to, formats or ["9:16"]), publish_to=publish_to, brand=brand,
                      template=template, style=style, backend=backend or settings.backend, model=model or settings.model)
