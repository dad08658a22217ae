"""Design checks on the rendered pixels: text over the product, overlapping text, a small product, empty bands,
captions that cut a number (LAYOUT-1..4, CAP-2).

Everything is measured on the frames the other checks already decoded (2 fps samples) and on the OCR they
already ran; the storyboard is never the evidence. The product is segmented from each frame: the backdrop is
what a flat or smoothly shaded region touching the frame's edge reaches (colour blocks and gradients
included), text boxes and text badges are taken out, and the largest remaining shape (its convex hull) is
the product. A frame with no backdrop at all (a full-bleed lifestyle photo) says nothing about the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from compliance.context import Context, finding
from compliance.ocr import OcrFrame
from compliance.rules import Rule
from productreel.models import Finding

ANALYSIS_SHORT = 120  # the product is found on a frame scaled to this short side: shapes, not detail
EDGE = 6.0  # Lab gradient (per pixel at analysis scale) that separates the product from its backdrop
MIN_SHARE = 0.01  # a shape under 1 % of the frame is not the product
NO_BACKDROP = 0.85  # foreground over this share of the frame: a full-bleed photo, the product is unknown


@dataclass
class FrameDesign:
    """What one sample shows: the product's region and the text boxes, at analysis scale."""

    t: float
    shape: tuple[int, int]  # analysis (h, w)
    scale: float  # analysis pixels per original pixel
    product: np.ndarray | None  # bool (h, w): the product's filled outline; None when it cannot be told
    text: np.ndarray  # bool (h, w): OCR text boxes
    flat_band: float  # tallest band of flat, empty background, as a share of the frame height


def _cv2():
    import cv2

    return cv2


def _text_mask(fr: OcrFrame, shape: tuple[int, int], scale: float) -> np.ndarray:
    m = np.zeros(shape, dtype=bool)
    for it in fr.items:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in it.box)
        m[max(0, y0):max(0, y1) + 1, max(0, x0):max(0, x1) + 1] = True
    return m


def product_region(rgb: np.ndarray, text: np.ndarray) -> np.ndarray | None:
    """The product's filled outline on a small RGB frame (bool), or None when the frame has no backdrop to tell it from."""
    cv2 = _cv2()
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    gx = np.abs(np.diff(lab, axis=1, append=lab[:, -1:])).sum(axis=2)
    gy = np.abs(np.diff(lab, axis=0, append=lab[-1:, :])).sum(axis=2)
    smooth = ((gx + gy) < EDGE).astype(np.uint8)
    # The backdrop: smooth regions that touch the frame's edge.
    n, labels = cv2.connectedComponents(smooth, connectivity=4)
    on_edge = np.zeros(n, bool)  # a lookup table: np.isin sorts, and this runs on every sample
    on_edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    on_edge[0] = False
    backdrop = on_edge[labels] & smooth.astype(bool)
    fg = ~backdrop
    # Text and the badges it sits on are not the product: drop the text boxes (a little larger), then open
    # away what is thinner than 5 px here (about 4 % of the short side): the margin a badge leaves around its
    # text, the lines between colour blocks, and the seam that joins a badge to a product it touches.
    grown = cv2.dilate(text.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    fg &= ~grown
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    if fg.mean() > NO_BACKDROP:
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return None
    # A badge or button is what is left around its text once the text boxes are out: a shape whose box is
    # largely text, or whose pixels nearly all lie close to text. A product with a price tag on it is neither.
    near_text = cv2.dilate(text.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    keep = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < MIN_SHARE * h * w / 5:
            continue
        own = labels[y:y + bh, x:x + bw] == i
        if text[y:y + bh, x:x + bw].mean() > 0.25 or near_text[y:y + bh, x:x + bw][own].mean() > 0.7:
            continue
        keep.append((area, i))
    keep.sort(reverse=True)
    if not keep or keep[0][0] < MIN_SHARE * h * w:
        return None
    # The largest shape, and the pieces of it that text over it cut off: shapes it reaches across the text
    # boxes that touch it.
    kernel = np.ones((5, 5), np.uint8)
    reach = cv2.dilate((labels == keep[0][1]).astype(np.uint8), kernel)
    tn, tlabels = cv2.connectedComponents(text.astype(np.uint8))
    touching = np.zeros(tn, bool)
    touching[tlabels[(reach > 0) & text]] = True
    touching[0] = False
    reach = cv2.dilate(((reach > 0) | touching[tlabels]).astype(np.uint8), kernel) > 0
    # A joined piece is a real part of the product, not what is left of a badge's margin beside it.
    parts = [keep[0][1]] + [i for a, i in keep[1:] if a >= 0.25 * keep[0][0] and (labels[reach] == i).any()
                            and near_text[labels == i].mean() < 0.5]
    pts = np.concatenate([np.argwhere(labels == i)[:, ::-1] for i in parts]).astype(np.int32)
    hull = cv2.convexHull(pts)
    region = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(region, hull, 1)
    return region.astype(bool)


def flat_band(rgb: np.ndarray, busy: np.ndarray, *, row_std: float = 2.5, drift: float = 8.0) -> float:
    """The tallest run of rows that are one flat colour with nothing on them, as a share of the frame height."""
    small = rgb.astype(np.float32)
    flat = (small.std(axis=1).max(axis=1) < row_std) & ~busy.any(axis=1)
    means = small.mean(axis=1).tolist()
    best = run = 0
    start = None
    for y, ok in enumerate(flat.tolist()):
        if ok and start is not None and max(abs(a - b) for a, b in zip(means[y], means[start])) <= drift:
            run += 1
        elif ok:
            start, run = y, 1
        else:
            start, run = None, 0
        best = max(best, run)
    return best / small.shape[0]


def frames(ctx: Context) -> list[FrameDesign]:
    """The design of every sampled frame (computed once per check run; unchanged samples share it)."""
    cache = ctx.__dict__.setdefault("_design", {})
    if "frames" in cache:
        return cache["frames"]
    cv2 = _cv2()
    dec = ctx.decoded
    out: list[FrameDesign] = []
    last: FrameDesign | None = None
    for s, fr in zip(dec.samples, ctx.ocr):
        if last is not None and not s.changed:
            out.append(FrameDesign(s.t, last.shape, last.scale, last.product, last.text, last.flat_band))
            continue
        h, w = s.rgb.shape[:2]
        k = ANALYSIS_SHORT / min(h, w)
        sw, sh = max(8, int(round(w * k))), max(8, int(round(h * k)))
        # Every other pixel first: an area resize by a non-integer factor from the full sample costs 5 ms.
        step = 2 if min(h, w) >= 4 * ANALYSIS_SHORT else 1
        small = cv2.resize(s.rgb[::step, ::step], (sw, sh), interpolation=cv2.INTER_AREA)
        scale = sw / dec.width
        text = _text_mask(fr, (sh, sw), scale)
        product = product_region(small, text)
        if product is not None:
            product = _within_stated_zone(ctx, s.t, product, scale)
        busy = text | (product if product is not None else np.zeros_like(text))
        last = FrameDesign(s.t, (sh, sw), scale, product, text, flat_band(small, busy))
        out.append(last)
    cache["frames"] = out
    return out


def _within_stated_zone(ctx: Context, t: float, product: np.ndarray, scale: float) -> np.ndarray | None:
    """The product pixels found in the frame, kept to where the renderer says the product moves (plus a margin).

    The renderer's sidecar is context, not evidence: it only rules out what the
    frame segmentation took for product but lies where no product can be (a
    style's colour block, a backdrop shape). The pixels still decide. A bare MP4,
    or a scene the sidecar says nothing about, keeps the segmentation as it is.
    """
    entries = (ctx.sidecar or {}).get("products") or []
    entry = next((e for e in entries if e.get("start", 0) <= t < e.get("end", 0) and e.get("zone")), None)
    if entry is None:
        return product
    h, w = product.shape
    margin = 0.04 * min(h, w)
    x0, y0, x1, y1 = (float(v) * scale for v in entry["zone"])
    zone = np.zeros_like(product)
    zone[max(0, int(y0 - margin)):min(h, int(np.ceil(y1 + margin))), max(0, int(x0 - margin)):min(w, int(np.ceil(x1 + margin)))] = True
    kept = product & zone
    return kept if kept.any() else None


def _box(mask: np.ndarray, scale: float) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [int(xs.min() / scale), int(ys.min() / scale), int((xs.max() + 1) / scale), int((ys.max() + 1) / scale)]


def check_text_over_product(rule: Rule, ctx: Context) -> list[Finding]:
    """LAYOUT-1: no more than ``max_covered`` of the product's pixels under text on any frame."""
    if ctx.info is None:
        return []
    limit = float(rule.params.get("max_covered", 0.05))
    worst = None
    for fd, fr in zip(frames(ctx), ctx.ocr):
        if fd.product is None or not fr.items:
            continue
        area = fd.product.sum()
        covered = float((fd.product & fd.text).sum() / max(1, area))
        if covered > limit and (worst is None or covered > worst[0]):
            texts = [it.text for it in fr.items if (fd.product & _text_mask(OcrFrame(fr.t, [it]), fd.shape, fd.scale)).any()]
            worst = (covered, fd, texts)
    if worst is None:
        return []
    covered, fd, texts = worst
    return [finding(rule, ctx, f"text covers {covered:.0%} of the product at {fd.t:.1f} s (at most {limit:.0%}): {', '.join(texts)[:80]}",
                    time=round(fd.t, 2), box=_box(fd.product, fd.scale), text=" | ".join(texts), measured=round(covered, 3),
                    expected=limit, fix="layout")]


def check_text_overlap(rule: Rule, ctx: Context) -> list[Finding]:
    """LAYOUT-2: no two text lines read on a frame overlap (by more than ``max_overlap`` of the smaller one)."""
    if ctx.info is None:
        return []
    limit = float(rule.params.get("max_overlap", 0.08))
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for fr in ctx.ocr:
        items = fr.items
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                a, b = items[i].box, items[j].box
                ix = min(a[2], b[2]) - max(a[0], b[0])
                iy = min(a[3], b[3]) - max(a[1], b[1])
                if ix <= 0 or iy <= 0:
                    continue
                smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
                share = ix * iy / max(1, smaller)
                key = tuple(sorted((items[i].text, items[j].text)))
                if share > limit and key not in seen and not _fragment(items[i], items[j], share) and not _one_paragraph(ctx, fr, a, b):
                    seen.add(key)
                    box = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    out.append(finding(rule, ctx, f"texts {items[i].text!r} and {items[j].text!r} overlap ({share:.0%} of the smaller)",
                                       time=round(fr.t, 2), box=box, text=" | ".join(key), measured=round(share, 3), expected=limit, fix="layout"))
    return out


def _fragment(x, y, share: float) -> bool:
    """OCR read part of a line twice (a letter at the end of a title as its own box): one box inside the other
    whose text is part of the other's."""
    short, long_ = sorted((x, y), key=lambda it: len(it.text.strip()))
    return share > 0.5 and short.text.strip().casefold() in long_.text.casefold()


def _plate(rgb: np.ndarray, box, scale: float) -> np.ndarray | None:
    """The colour behind a text line: the median of the larger (background) class of its box's pixels."""
    from compliance.visual import otsu_classes

    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    crop = rgb[max(0, y0):max(0, y1), max(0, x0):max(0, x1)].reshape(-1, 3).astype(np.float32)
    if len(crop) < 8:
        return None
    lum = crop @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    split = otsu_classes(lum)
    if split is None:
        return np.median(crop, axis=0)
    thr = (split[0].max() + split[1].min()) / 2
    back = lum >= thr if split[1].size >= split[0].size else lum < thr
    return np.median(crop[back], axis=0)


def _one_paragraph(ctx: Context, fr: OcrFrame, a, b) -> bool:
    """Two lines of one paragraph (same size, on the same backing) touch when the line spacing is tight;
    that is no overlap. Lines of different sizes or on different backings are two elements colliding."""
    ha, hb = a[3] - a[1], b[3] - b[1]
    if abs(ha - hb) > 0.2 * max(ha, hb):
        return False
    rgb = ctx.decoded.samples[fr.index].rgb
    pa, pb = _plate(rgb, a, ctx.decoded.scale), _plate(rgb, b, ctx.decoded.scale)
    return pa is not None and pb is not None and float(np.abs(pa - pb).max()) <= 12


def min_product_height(fmt: str, params: dict) -> float:
    """The share of the frame height the product must reach on its largest frame, for a format."""
    tall = {"9:16", "4:5"}
    return float(params.get("tall", 0.45) if fmt in tall else params.get("wide", 0.60))


def check_product_size(rule: Rule, ctx: Context) -> list[Finding]:
    """LAYOUT-3: the product reaches 45 % of the frame height (9:16, 4:5) or 60 % (1:1, 16:9) on its largest frame."""
    if ctx.info is None or ctx.kind == "tutorial" and rule.params.get("ads_only", False):
        return []
    need = min_product_height(ctx.format, rule.params)
    best = None
    for fd in frames(ctx):
        if fd.product is None:
            continue
        ys = np.nonzero(fd.product.any(axis=1))[0]
        share = (ys[-1] - ys[0] + 1) / fd.shape[0]
        if best is None or share > best[0]:
            best = (share, fd)
    if best is None:
        return [finding(rule, ctx, "no product could be told from the backdrop on any frame", severity="INFO")]
    share, fd = best
    if share >= need:
        return []
    return [finding(rule, ctx, f"the product is at most {share:.0%} of the frame height ({ctx.format}: at least {need:.0%})",
                    time=round(fd.t, 2), box=_box(fd.product, fd.scale), measured=round(share, 3), expected=need)]


def check_empty_band(rule: Rule, ctx: Context) -> list[Finding]:
    """LAYOUT-4: no flat band of empty background over ``max_band`` of the frame height (median over the frames that
    show the product)."""
    if ctx.info is None:
        return []
    limit = float(rule.params.get("max_band", 0.15))
    # Frames that show the product: a colour card or a frame with nothing on it is no layout to judge.
    fds = [fd for fd in frames(ctx) if fd.product is not None]
    if not fds:
        return []
    bands = [fd.flat_band for fd in fds]
    median = float(np.median(bands))
    if median <= limit:
        return []
    worst = max(fds, key=lambda fd: fd.flat_band)
    return [finding(rule, ctx, f"a flat empty band of {median:.0%} of the frame height (median over {len(fds)} frames; at most {limit:.0%})",
                    time=round(worst.t, 2), measured=round(median, 3), expected=limit)]


_ENDS_IN_NUMBER = re.compile(r"(?:\d[.,]?|[$€£¥￥₩₹])$")
_STARTS_WITH_NUMBER = re.compile(r"^[.,]?\d")


def check_caption_numbers(rule: Rule, ctx: Context) -> list[Finding]:
    """CAP-2: no caption (cue to cue, line to line, or burned-in text read by OCR) cuts a number or price."""
    from localization.segment import cuts_number

    out: list[Finding] = []
    cues = _sidecar_cues(ctx) or ctx.cues
    pieces: list[tuple[str, str, list[float]]] = []
    for c in cues:
        lines = c.text.split("\n")
        pieces += [(a, b, [round(c.start, 2), round(c.end, 2)]) for a, b in zip(lines, lines[1:])]
    pieces += [(a.text, b.text, [round(a.start, 2), round(b.end, 2)]) for a, b in zip(cues, cues[1:])]
    for a, b, when in pieces:
        if cuts_number(a, b):
            out.append(finding(rule, ctx, f"caption cuts a number: {a[-20:]!r} | {b[:20]!r}", input="captions", time=when,
                               text=f"{a}|{b}", fix="captions"))
    if ctx.info is not None and "ocr" in rule.inputs:
        out += _burned_in_cuts(rule, ctx)
    return out


def _sidecar_cues(ctx: Context) -> list:
    """The cues of the caption file shipped with the clip (what a player shows), before the storyboard's."""
    from pathlib import Path

    from localization.subtitles import read_cues

    clip = ctx.clip
    for cand in ([clip.srt, clip.vtt] if clip else []) + [ctx.path.with_suffix(".srt"), ctx.path.with_suffix(".vtt")]:
        if cand and Path(cand).is_file():
            cues = read_cues(Path(cand))
            if cues:
                return cues
    return []


def _burned_in_cuts(rule: Rule, ctx: Context) -> list[Finding]:
    """A text line that ends in a number fragment and, where it stood, the next reading starts with digits."""
    from compliance.ocr import _iou

    from localization.segment import cuts_number

    out: list[Finding] = []
    prev = None
    for fr in ctx.ocr:
        if prev is not None:
            for a in prev.items:
                if not _ENDS_IN_NUMBER.search(a.text.strip()):
                    continue
                for b in fr.items:
                    if b.text != a.text and _iou(a.box, b.box) > 0.3 and _STARTS_WITH_NUMBER.search(b.text.strip()) and cuts_number(a.text, b.text):
                        out.append(finding(rule, ctx, f"burned-in caption cuts a number: {a.text[-20:]!r} then {b.text[:20]!r}", input="ocr",
                                           time=round(fr.t, 2), box=list(b.box), text=f"{a.text}|{b.text}", fix="captions"))
        if fr.items:
            prev = fr
    return out
