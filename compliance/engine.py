"""check_clip: run every rule that applies to a clip's market and destination and collect the findings."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from compliance.context import Context, finding
from compliance.rules import CHECK_TYPES, Rule, RuleBook, rule_book
from compliance.rules import register_check as register_check  # re-exported: plugins register through the engine
from productreel.models import ComplianceReport, Finding, LocalizedProduct, Market, RenderedClip, Storyboard

Check = Callable[[Rule, Context], list[Finding]]


def _checks() -> dict[str, Check]:
    # Each check module by its own name, not through the package: compliance/__init__ re-exports cli, which
    # imports this module, so going through it would be an import circle.
    import compliance.audio as audio
    import compliance.captions as captions
    import compliance.claims as claims
    import compliance.design as design
    import compliance.flashes as flashes
    import compliance.nudity as nudity
    import compliance.price as price
    import compliance.provenance as provenance
    import compliance.rights as rights
    import compliance.visual as visual

    return {
        "regex_any": claims.check_regex_any,
        "regex_requires": claims.check_regex_requires,
        "price_match": price.check_price,
        "ocr_label": visual.check_label,
        "contrast": visual.check_contrast,
        "text_size": visual.check_text_size,
        "safe_zone": visual.check_safe_zone,
        "loudness": audio.check_loudness,
        "flashes": flashes.check_flashes,
        "nudity": nudity.check_nudity,
        "caption_layout": captions.check_layout,
        "reading_speed": captions.check_reading_speed,
        "text_over_product": design.check_text_over_product,
        "text_overlap": design.check_text_overlap,
        "product_size": design.check_product_size,
        "empty_band": design.check_empty_band,
        "caption_numbers": design.check_caption_numbers,
        "provenance": provenance.check_provenance,
        "provenance_ai": provenance.check_provenance_ai,
        "aigc_metadata": provenance.check_aigc_metadata,
        "license": rights.check_license,
    }


SHARED_STEPS = ("decode", "ocr", "audio-decode")


def run_checks(
    clip: RenderedClip | Path | str,
    market: Market,
    *,
    destination: str = "folder",
    storyboard: Storyboard | None = None,
    lp: LocalizedProduct | None = None,
    script_text: str = "",
    rules: RuleBook | list[Rule] | Path | None = None,
    assets: list[dict] | None = None,
    day: date | None = None,
    only: set[str] | None = None,
) -> tuple[ComplianceReport, Context]:
    """The report and the context (timings per check, decoded frames, OCR) for one clip."""
    book = _book(rules)
    rc = clip if isinstance(clip, RenderedClip) else None
    path = Path(rc.video if rc else clip)
    ctx = Context(path=path, market=market, destination=destination, book=book, clip=rc, storyboard=storyboard,
                  lp=lp, script_text=script_text or "", assets=assets, day=day or date.today())
    findings: list[Finding] = []
    spec_rule = book.get("SPEC-1") or Rule(id="SPEC-1", type="file_spec", severity="FIX")
    from compliance.spec import check_spec

    t = time.perf_counter()
    spec_findings, ctx.info = check_spec(path, book.profile(destination), rule_source=spec_rule.source, destination=destination)
    spec_findings += _against_storyboard(ctx, spec_rule)
    ctx.timings["SPEC-1"] = time.perf_counter() - t
    if only is None or "SPEC-1" in only:
        findings += spec_findings
    registry = {**_checks(), **CHECK_TYPES}
    todo = []
    for rule in book.for_clip(market.code, eu=market.eu, destination=destination, kind=ctx.kind):
        if rule.type == "file_spec" or (only is not None and rule.id not in only):
            continue
        if ctx.info is None and rule.type not in ("regex_any", "regex_requires", "license", "caption_layout", "reading_speed", "caption_numbers"):
            continue  # an unreadable file has nothing to see or hear; its text rules still run on the script
        todo.append(rule)
    if ctx.info is not None:
        prefetch(ctx, todo)
    for rule in todo:
        fn = registry.get(rule.type)
        if fn is None:
            findings.append(finding(rule, ctx, f"no check for rule type {rule.type!r}", severity="WARN"))
            continue
        shared_before = sum(ctx.timings.get(k, 0.0) for k in SHARED_STEPS)
        t = time.perf_counter()
        try:
            findings += fn(rule, ctx)
        except Exception as exc:  # one broken check must not hide every other finding; it needs a person
            findings.append(finding(rule, ctx, f"check failed: {type(exc).__name__}: {exc}", severity="WARN", error=str(exc)))
        # Decoding and OCR are shared by many rules: they are timed on their own, not charged to the first user.
        spent = time.perf_counter() - t - (sum(ctx.timings.get(k, 0.0) for k in SHARED_STEPS) - shared_before)
        ctx.timings[rule.id] = ctx.timings.get(rule.id, 0.0) + max(0.0, spent)
    if ctx._decoded is not None and ctx._decoded.error:
        findings.insert(0, finding(spec_rule, ctx, "unreadable: the video cannot be decoded to the end", severity="BLOCK",
                                   error=ctx._decoded.error, destination=destination))
    report = ComplianceReport(clip=str(path), market=market.code, destination=destination, findings=findings)
    return report, ctx


def check_clip(
    clip: RenderedClip | Path | str,
    market: Market,
    *,
    destination: str = "folder",
    storyboard: Storyboard | None = None,
    lp: LocalizedProduct | None = None,
    script_text: str = "",
    rules: RuleBook | list[Rule] | Path | None = None,
    assets: list[dict] | None = None,
    save_report: bool = True,
) -> ComplianceReport:
    """Check a rendered clip (or any MP4) against the rules of its market and destination.

    For a RenderedClip the report is also written beside the video as ``<name>.compliance.json``
    (the review page and the ledger read it); a bare path is only checked.
    """
    report, _ = run_checks(clip, market, destination=destination, storyboard=storyboard, lp=lp,
                           script_text=script_text, rules=rules, assets=assets)
    if save_report and isinstance(clip, RenderedClip):
        from compliance.report import report_path, write_report

        try:
            write_report(report, report_path(clip.video))
        except OSError:
            pass  # a read-only output folder must not turn a finished check into a crash
    return report


def prefetch(ctx: Context, rules: list[Rule]) -> None:
    """Decode the frames on a helper thread while OCR (this thread) and NudeNet (another) read the samples as
    they come: on two cores the three overlap instead of running one after the other.

    Fills what ctx.decoded, ctx.ocr and check_nudity would work out lazily, with the same functions on the same
    samples, so no finding changes. Only for what the rules read: OCR when one of them reads "ocr", NudeNet
    for each nudity rule's minimum score, the luminance track when a flash rule (or a plugin check that reads
    frames) runs. Nothing to overlap (no OCR, no NudeNet) leaves decoding lazy, on every core. A failed
    decode or consumer leaves its part lazy too: the check that asks for it fails as it did without this.
    """
    from compliance.frames import decode_with
    from compliance.nudity import detect_stream
    from compliance.ocr import read_stream

    builtin = _checks()
    wants_ocr = any("ocr" in r.inputs for r in rules)
    scores = sorted({float(r.params.get("min_score", 0.5)) for r in rules if r.type == "nudity"})
    if not wants_ocr and not scores:
        return
    luma = any(r.type == "flashes" or (r.type not in builtin and "frames" in r.inputs) for r in rules)
    stamps: dict[str, float] = {}

    def timed(name: str, fn: Callable):
        def run(samples):
            t = time.perf_counter()
            try:
                return fn(samples)
            finally:
                stamps[name] = time.perf_counter() - t
        return run

    consumers = ([timed("ocr", read_stream)] if wants_ocr else []) + ([timed("nudity", lambda it: detect_stream(it, scores))] if scores else [])
    t = time.perf_counter()
    # One decoding thread: the other core reads the frames; PyAV's frame threads would only compete with it.
    decoded, _error, results = decode_with(ctx.path, consumers, extra_times=ctx.overlay_times(), luma=luma, thread_type="NONE")
    ctx.timings["decode"] = ctx.timings.get("decode", 0.0) + time.perf_counter() - t
    if decoded is None:  # left to the first check that reads frames, which reports it as before
        return
    ctx._decoded = decoded
    (ocr, ocr_error), rest = (results[0], results[1:]) if wants_ocr else ((None, None), results)
    if wants_ocr and ocr_error is None:
        ctx._ocr = ocr
        ctx.timings["ocr"] = ctx.timings.get("ocr", 0.0) + stamps.get("ocr", 0.0)
    if scores and rest and rest[0][1] is None:
        decoded.detections.update(rest[0][0])
        ctx.timings["nudity"] = ctx.timings.get("nudity", 0.0) + stamps.get("nudity", 0.0)


def _against_storyboard(ctx: Context, rule: Rule) -> list[Finding]:
    """The file is what the storyboard asked for: frame size, frame rate and duration."""
    sb, info = ctx.storyboard, ctx.info
    if sb is None or info is None:
        return []
    out = []
    if (info["width"], info["height"]) != (sb.width, sb.height):
        out.append(finding(rule, ctx, f"frame size {info['width']}x{info['height']}, the storyboard asks {sb.width}x{sb.height}",
                           measured=[info["width"], info["height"]], expected=[sb.width, sb.height], destination=ctx.destination))
    if info["avg_frame_rate"] and abs(info["avg_frame_rate"] - sb.fps) > 0.05:
        out.append(finding(rule, ctx, f"frame rate {info['avg_frame_rate']:.3f}, the storyboard asks {sb.fps}",
                           measured=round(info["avg_frame_rate"], 3), expected=sb.fps, destination=ctx.destination))
    # Crossfades may overlap scenes; a clip longer than its scenes or much shorter is a render fault.
    if sb.duration and not (sb.duration * 0.8 - 0.1 <= info["duration"] <= sb.duration + 0.25):
        out.append(finding(rule, ctx, f"duration {info['duration']:.2f} s, the storyboard's scenes last {sb.duration:.2f} s",
                           measured=round(info["duration"], 3), expected=round(sb.duration, 3), destination=ctx.destination))
    return out


_book = rule_book  # the old private name
