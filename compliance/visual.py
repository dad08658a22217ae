"""Checks on what the viewer sees: labels (ad, AI), contrast, text size and safe zones, from OCR boxes on frames."""

from __future__ import annotations

import numpy as np

from compliance.context import Context, finding
from compliance.frames import _relative_luminance
from compliance.ocr import OcrFrame, OcrItem
from compliance.rules import Rule
from compliance.text import fuzzy_contains, ocr_hits
from productreel.models import Finding


def contrast_ratio(rgb: np.ndarray, box: tuple[int, int, int, int], scale: float) -> float | None:
    """WCAG contrast between text and background inside an OCR box (Otsu split of its luminance)."""
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    lum = _relative_luminance(rgb[y0:y1, x0:x1]).ravel()
    if lum.size < 8:
        return None
    split = otsu_classes(lum)
    if split is None:
        return 1.0
    dark, light = split
    # The glyphs are the smaller class. Their colour is read at the core of the strokes (a 10th percentile
    # toward their extreme), since anti-aliasing and compression blur thin strokes toward the background;
    # the background is the median of the larger class.
    if dark.size <= light.size:
        text, back = float(np.percentile(dark, 10)), float(np.median(light))
    else:
        text, back = float(np.percentile(light, 90)), float(np.median(dark))
    hi, lo = max(text, back), min(text, back)
    return (hi + 0.05) / (lo + 0.05)


def otsu_classes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The values split by Otsu's threshold into (darker, lighter); None when they are flat."""
    if float(values.max() - values.min()) < 1e-3:
        return None
    hist, edges = np.histogram(values, bins=64, range=(float(values.min()), float(values.max())))
    p = hist.astype(np.float64) / hist.sum()
    omega = np.cumsum(p)
    mu = np.cumsum(p * (edges[:-1] + edges[1:]) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
    k = int(np.nanargmax(sigma[:-1])) if sigma.size > 1 else 0
    thr = edges[k + 1]
    dark, light = values[values < thr], values[values >= thr]
    if dark.size == 0 or light.size == 0:
        return None
    return dark, light


def ink_height(rgb: np.ndarray, box: tuple[int, int, int, int], scale: float) -> float | None:
    """Height in original pixels of the glyphs inside an OCR box (the box itself has padding around them)."""
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    lum = _relative_luminance(rgb[y0:y1, x0:x1])
    lo, hi = otsu_split(lum.ravel())
    if lo is None:
        return None
    thr = (lo + hi) / 2
    ink = lum >= thr
    # The glyphs are the minority class: light text on dark or dark text on light.
    if ink.mean() > 0.5:
        ink = ~ink
    rows = np.where(ink.mean(axis=1) > 0.02)[0]
    if rows.size == 0:
        return None
    return float(rows[-1] - rows[0] + 1) / scale


def otsu_split(values: np.ndarray) -> tuple[float | None, float | None]:
    """Median luminance of the darker and lighter class after Otsu's threshold; (None, None) if flat."""
    split = otsu_classes(values)
    if split is None:
        return None, None
    return float(np.median(split[0])), float(np.median(split[1]))


def _rgb(ctx: Context, fr: OcrFrame) -> np.ndarray:
    return ctx.decoded.samples[fr.index].rgb


def _label_matcher(rule: Rule, ctx: Context):
    """A test for 'this OCR text holds the label': the rule's pattern, or the market's own label read fuzzily."""
    pattern = rule.params.get("pattern")
    own = getattr(ctx.market, rule.params.get("market_label", ""), "") if rule.params.get("market_label") else ""

    def has(text: str) -> bool:
        if pattern and ocr_hits(pattern, text):
            return True
        return bool(own) and fuzzy_contains(text, own, float(rule.params.get("fuzzy", 0.8)))

    return has


def _needs_label(rule: Rule, ctx: Context) -> bool | None:
    when = rule.params.get("when", "always")
    if when == "generated":
        return ctx.generated
    if when == "ad":
        return ctx.kind in (None, "ad")
    return True


def check_label(rule: Rule, ctx: Context) -> list[Finding]:
    """The label is read on screen in its window, large enough, for long enough and with enough contrast."""
    need = _needs_label(rule, ctx)
    if ctx.info is None or need is False:
        return []
    if need is None:
        # A foreign clip whose origin is unknown: say the rule could not be decided rather than guessing.
        return [finding(rule, ctx, "cannot tell whether the clip is AI-generated (no C2PA manifest, no storyboard)", severity="INFO")]
    t0, t1 = rule.params.get("window", [0, None])
    t1 = t1 if t1 is not None else float("inf")
    frames = [fr for fr in ctx.ocr if t0 <= fr.t < t1]
    has = _label_matcher(rule, ctx)
    label_name = getattr(ctx.market, rule.params.get("market_label", ""), "") or rule.params.get("pattern", "")
    hits: list[tuple[OcrFrame, OcrItem | None]] = []
    for fr in frames:
        item = next((it for it in fr.items if has(it.text)), None)
        if item is None and has(fr.text):
            # Label split over two OCR lines: measure the first line that holds part of it.
            item = fr.items[0] if fr.items else None
            hits.append((fr, item))
        elif item is not None:
            hits.append((fr, item))
    window = f"{t0:g}–{t1:g} s" if t1 != float("inf") else "the clip"
    if not hits:
        return [finding(rule, ctx, f"label {label_name!r} not read on screen in {window}", expected=label_name, window=[t0, None if t1 == float('inf') else t1], frames_checked=len(frames), fix="label")]
    out: list[Finding] = []
    if rule.params.get("every_frame"):
        missing = [round(fr.t, 2) for fr in frames if fr not in [h[0] for h in hits]]
        if missing:
            out.append(finding(rule, ctx, f"label {label_name!r} missing on frames at {missing} s (must stay {window})", times=missing, expected=label_name, fix="label"))
    min_h = rule.params.get("min_h_ratio_short_side")
    if min_h:
        small = []
        for fr, it in hits:
            if it is None:
                continue
            hgt = ink_height(_rgb(ctx, fr), it.box, ctx.decoded.scale) or it.height
            if hgt / ctx.short_side < min_h:
                small.append((fr, it, hgt))
        if small:
            fr, it, hgt = small[0]
            out.append(finding(rule, ctx, f"label text {hgt / ctx.short_side:.1%} of the short side, under {min_h:.0%}", time=round(fr.t, 2), box=list(it.box), text=it.text, measured=round(hgt / ctx.short_side, 4), expected=min_h, fix="text_size"))
    min_c = rule.params.get("min_contrast")
    if min_c:
        ratios = []
        for fr, it in hits:
            if it is None:
                continue
            r = contrast_ratio(_rgb(ctx, fr), it.box, ctx.decoded.scale)
            if r is not None:
                ratios.append((r, fr, it))
        if ratios:
            r, fr, it = max(ratios, key=lambda x: x[0])  # the label at its clearest (transitions dim it on the way in)
            if r < min_c:
                out.append(finding(rule, ctx, f"label contrast {r:.2f}:1 under {min_c}:1", time=round(fr.t, 2), box=list(it.box), text=it.text, measured=round(r, 2), expected=min_c, fix="contrast_box"))
    return out


def check_contrast(rule: Rule, ctx: Context) -> list[Finding]:
    """Every text read on screen has ≥ 4.5:1 contrast (large text ≥ 3:1) against the pixels behind it."""
    if ctx.info is None:
        return []
    p = rule.params
    # Logos are exempt from WCAG contrast (1.4.3): skip text the storyboard drew as a logo.
    logos = [ov.text for sc in (ctx.storyboard.scenes if ctx.storyboard else []) for ov in sc.overlays if ov.role == "logo" and ov.text]
    # Per text, its best contrast over the samples it shows on: crossfades and slides pass through dim frames
    # on the way, so a text fails only when it never reaches the threshold.
    best: dict[str, tuple[float, OcrFrame, OcrItem, float]] = {}
    for fr in ctx.ocr:
        for it in fr.items:
            if any(fuzzy_contains(it.text, logo) for logo in logos):
                continue
            r = contrast_ratio(_rgb(ctx, fr), it.box, ctx.decoded.scale)
            if r is None:
                continue
            need = p.get("large_min_ratio", 3.0) if font_size(it) / ctx.short_side >= p.get("large_font_ratio_short_side", 0.045) else p.get("min_ratio", 4.5)
            if it.text not in best or r > best[it.text][0]:
                best[it.text] = (r, fr, it, need)
    return [
        finding(rule, ctx, f"text {it.text!r} contrast {r:.2f}:1 under {need}:1", time=round(fr.t, 2), box=list(it.box), text=it.text, measured=round(r, 2), expected=need, fix="contrast_box")
        for r, fr, it, need in best.values() if r < need
    ]


# An OCR line box is about 1.4 font sizes high whatever the letters (DB detection pads it by unclip_ratio);
# glyph ink is not, since "wow" is x-height and "Mug" cap height.
BOX_PER_FONT_SIZE = 1.4


def font_size(item: OcrItem) -> float:
    """The font size in original pixels estimated from an OCR line box."""
    return item.height / BOX_PER_FONT_SIZE


def check_text_size(rule: Rule, ctx: Context) -> list[Finding]:
    """Every text read on screen has at least the minimum font size (share of the short side)."""
    if ctx.info is None:
        return []
    min_r = rule.params.get("min_font_ratio_short_side", 0.03)
    seen: set[str] = set()
    out = []
    for fr in ctx.ocr:
        for it in fr.items:
            if it.text in seen:
                continue
            size = font_size(it)
            ratio = size / ctx.short_side
            if ratio < min_r:
                seen.add(it.text)
                out.append(finding(rule, ctx, f"text {it.text!r} is about {size:.0f} px ({ratio:.1%} of the short side), under {min_r:.1%}", time=round(fr.t, 2), box=list(it.box), text=it.text, measured=round(ratio, 4), expected=min_r, fix="text_size"))
    return out


def safe_zone(ctx: Context) -> dict[str, float] | None:
    """The destination's UI margins (fractions) for this clip's format, or None when it has none."""
    zones = ctx.book.profile(ctx.destination).get("safe") or {}
    zone = zones.get(ctx.format) or zones.get("*")
    if not zone or not any(zone.get(k, 0) for k in ("top", "bottom", "left", "right")):
        return None
    return zone


def check_safe_zone(rule: Rule, ctx: Context) -> list[Finding]:
    """Text boxes that reach into the destination's UI zones (covered by buttons, captions, the title)."""
    if ctx.info is None:
        return []
    zone = safe_zone(ctx)
    if zone is None:
        return []
    W, H = ctx.info["width"], ctx.info["height"]
    sx0, sy0 = W * zone.get("left", 0), H * zone.get("top", 0)
    sx1, sy1 = W * (1 - zone.get("right", 0)), H * (1 - zone.get("bottom", 0))
    min_overlap = rule.params.get("min_overlap", 0.3)
    out: list[Finding] = []
    seen: set[str] = set()
    for fr in ctx.ocr:
        for it in fr.items:
            x0, y0, x1, y1 = it.box
            area = max(1, (x1 - x0) * (y1 - y0))
            ix = max(0, min(x1, sx1) - max(x0, sx0))
            iy = max(0, min(y1, sy1) - max(y0, sy0))
            outside = 1 - ix * iy / area
            if outside >= min_overlap and it.text not in seen:
                seen.add(it.text)
                where = [side for side, cond in (("top", y0 < sy0), ("bottom", y1 > sy1), ("left", x0 < sx0), ("right", x1 > sx1)) if cond]
                out.append(finding(rule, ctx, f"text {it.text!r} in the {ctx.destination} {'/'.join(where)} UI zone ({outside:.0%} of it)", time=round(fr.t, 2), box=list(it.box), text=it.text, measured=round(outside, 3), zone=zone, fix="safe_zone"))
    return out
