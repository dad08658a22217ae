"""Storyboards: which photo each scene shows, with what motion, text and timing, for an ad or a tutorial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from productreel.errors import InputError
from productreel.models import (
    FORMATS,
    Cue,
    LocalizedProduct,
    Market,
    Product,
    Scene,
    Script,
    Shot,
    Storyboard,
    StoryboardMeta,
    TextOverlay,
    stable_hash,
)

from clips.profiles import destination_profile, load_brand

# Bump when the layout or timing rules below change: it goes into the job key through the metadata.
STORYBOARD_VERSION = "storyboard-5"
AD_DURATIONS = (6.0, 15.0, 30.0)
TINY_DURATION = 1.5
TINY_SCALE = 6
MOTIONS = ("zoom_in", "pan_right", "zoom_out", "pan_left")
# Close-ups for tutorial steps: normalised crops of the product photo, cycled per step.
CLOSEUPS = ((0.15, 0.15, 0.85, 0.85), (0.0, 0.0, 0.65, 0.65), (0.35, 0.35, 1.0, 1.0), (0.2, 0.0, 0.8, 0.6))


def frame_size(fmt: str, profile: str = "full") -> tuple[int, int]:
    """Output width and height for a format; 'tiny' is 1/6 scale rounded to even numbers."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}", where="storyboard")
    w, h = FORMATS[fmt]
    if profile == "tiny":
        w, h = (max(2, round(w / TINY_SCALE / 2) * 2), max(2, round(h / TINY_SCALE / 2) * 2))
    return w, h


def product_images(product: Product) -> list[Path]:
    """The local image files of a product: the fetched path, else src when it is a local file."""
    out: list[Path] = []
    for img in product.images:
        if img.path is not None and Path(img.path).exists():
            out.append(Path(img.path))
        elif img.src and "://" not in img.src and Path(img.src).exists():
            out.append(Path(img.src))
    return out


def _fonts(text: str, market: Market, brand, handle: str) -> list[Path]:
    """Bold faces covering every character of the clip's text (market fonts first)."""
    try:
        from localization.fonts import fonts_for
    except ImportError:
        return brand.font_files("heading")
    return list(fonts_for(text, market, weight="bold", product=handle))


# Share of duration × chars/s the spoken script may fill: cues need a lead-in, gaps and whole sentences.
READING_FILL = 0.85
RECAPTION_FILL = 0.7


def fit_script(parts: list[str], duration: float, chars_per_second: float, fill: float = READING_FILL,
               keep_last: bool = True) -> list[str]:
    """The sentences a viewer can read in `duration` s, in order: the first (hook), the last (CTA), then the middle ones.

    Whole sentences only; a sentence that does not fit is skipped and later, shorter ones may still go in.
    """
    budget = max(0.0, (duration - 0.5) * float(chars_per_second) * fill)
    parts = [p.strip() for p in parts if p and p.strip()]
    order = list(range(len(parts)))
    if keep_last and len(parts) > 1:
        order = [0, len(parts) - 1, *range(1, len(parts) - 1)]
    chosen: set[int] = set()
    used = 0.0
    for i in order:
        n = len(parts[i])
        if used + n <= budget:
            chosen.add(i)
            used += n
    return [parts[i] for i in sorted(chosen)]


def _script_sentences(script: Script, locale: str | None = None) -> list[str]:
    """The spoken script as sentences: the voice-over when written, else hook, lines and CTA."""
    from clips.audio import sentences

    if script.voiceover.strip():
        return sentences(script.voiceover, locale)
    return [s for part in (script.hook, *script.lines, script.cta) for s in sentences(part or "", locale)]


def join_sentences(parts: list[str]) -> str:
    """Sentences back into one text: CJK sentences run on without a space, others take one."""
    out = ""
    for p in parts:
        out = p if not out else out + ("" if _cjk_end(out) else " ") + p
    return out


def _cjk_end(text: str) -> bool:
    return bool(text) and (text[-1] in "。！？、" or ord(text[-1]) >= 0x3000)


def _cues(text: str, duration: float, market: Market) -> list[Cue]:
    if not text.strip():
        return []
    try:
        from localization.subtitles import make_cues
    except ImportError:
        make_cues = None
    if make_cues is not None:
        return list(make_cues(text, duration, market))
    from clips.captions import simple_cues

    return simple_cues(text, duration, market.caption_chars_per_line)


def _price_overlays(lp: LocalizedProduct, market: Market, start: float) -> list[TextOverlay]:
    out: list[TextOverlay] = []
    if lp.price_text:
        out.append(TextOverlay(role="price", text=lp.price_text, start=start))
        if lp.compare_at_text:
            out.append(TextOverlay(role="compare_at", text=lp.compare_at_text, start=start))
        if lp.prior_price_text:
            out.append(TextOverlay(role="prior_price", text=lp.prior_price_text, start=start))
        if lp.tax_text:
            out.append(TextOverlay(role="tax", text=lp.tax_text, start=start))
    return out


def _labels(market: Market, kind: str, generated: bool) -> list[TextOverlay]:
    """Labels shown for the whole clip: the ad label, and the AI label when a shot is generated."""
    out: list[TextOverlay] = []
    if kind == "ad" and market.ad_label:
        out.append(TextOverlay(role="label", text=market.ad_label))
    if generated and market.ai_label:
        out.append(TextOverlay(role="disclosure", text=market.ai_label))
    return out


def _brand_cards(kit, scenes: list[Scene]) -> list[Scene]:
    """The brand's intro and outro cards ({text, duration}) around the product scenes."""
    out = list(scenes)
    for card, at in ((kit.intro, 0), (kit.outro, None)):
        if card and card.get("text"):
            sc = Scene(duration=float(card.get("duration", 1.5)), shot=Shot(kind="color", motion="none"),
                       overlays=[TextOverlay(role="title", text=str(card["text"]), start=0.0)], transition="crossfade")
            out.insert(0, sc) if at == 0 else out.append(sc)
    return out


def _snap_to_frames(scenes: list[Scene], fps: int) -> None:
    """Make every scene a whole number of frames, keeping the total, so cuts land on frames."""
    total = round(sum(s.duration for s in scenes) * fps)
    acc = 0.0
    done = 0
    for i, sc in enumerate(scenes):
        acc += sc.duration
        end = total if i == len(scenes) - 1 else round(acc * fps)
        sc.duration = (end - done) / fps
        done = end


def _ad_durations(total: float) -> list[float]:
    if total <= 8:
        return [total / 2] * 2
    if total <= 20:
        return [total / 3] * 3
    n = 5
    return [total / n] * n


def build_storyboard(
    product: Product,
    lp: LocalizedProduct,
    script: Script,
    market: Market,
    kind: str,
    fmt: str,
    *,
    job_key: str,
    profile: str = "full",
    brand: str = "default",
    destination: str = "folder",
    duration: float | None = None,
    generated: bool = False,
    style: str = "studio",
) -> Storyboard:
    """The storyboard for one (product, market, kind, format) job.

    `duration` picks the ad length (6, 15 or 30 s; default 15) or caps a tutorial (30-90 s);
    `generated` makes the first scene a generated shot (diffusion fills Shot.video later);
    `style` is one of clips.styles.list_styles() (templates/styles/<style>.yaml).
    The product is found in each photo (clips.cutout) and the photos are checked for quality:
    the findings are in `metadata.findings`.
    """
    from clips.cutout import cutout
    from clips.styles import load_style

    look = load_style(style)
    if kind not in ("ad", "tutorial"):
        raise InputError(f"unknown clip kind {kind!r}; known: ad, tutorial", product=product.handle, where="storyboard")
    width, height = frame_size(fmt, profile)
    kit = load_brand(brand)
    dest = destination_profile(destination, fmt)
    images = product_images(product)
    if not images:
        raise InputError("no local product image to show (fetch images first)", product=product.handle, market=market.code, where="storyboard")
    title = lp.title.text or product.title
    cta = (lp.cta.text if lp.cta else "") or script.cta or market.cta
    labels = _labels(market, kind, generated)
    cutouts = [cutout(p) for p in images]
    # A brand kit that picks its own music keeps it; otherwise the style's bed sets the pace.
    music = kit.music if brand != "default" and kit.music else (look.music or kit.music)
    beat = _beat(music)

    if kind == "ad":
        cards = sum(float(c.get("duration", 1.5)) for c in (kit.intro, kit.outro) if c and c.get("text"))
        scenes = _ad_scenes(images, lp, script, market, title, cta, (duration or 15.0) - cards, generated)
        _on_beats(scenes, beat, look.transition)
        if scenes and (product.brand or kit.name != "default"):
            # The end card carries the brand: its logo, or its name as a wordmark.
            scenes[-1].overlays.insert(0, TextOverlay(role="logo", text=product.brand or kit.name, start=0.0))
    else:
        scenes = _tutorial_scenes(images, lp, script, title, cta, duration)
    scenes = _brand_cards(kit, scenes)
    for sc in scenes:
        sc.overlays = [o.model_copy() for o in labels] + sc.overlays

    if profile == "tiny":
        # Keep every scene and overlay, squeezed into ~1.5 s, so tests exercise the whole layout.
        total = sum(s.duration for s in scenes)
        f = (TINY_DURATION if kind == "ad" else 2.0) / total
        if kind == "tutorial":
            # A scene per step: each keeps at least 0.4 s, or the scene changes alone flash more
            # than three times a second and ACC-7 blocks the clip.
            f = max(f, 0.4 / min(s.duration for s in scenes))
        for sc in scenes:
            sc.duration = round(sc.duration * f, 3)
            for o in sc.overlays:
                o.start = round(o.start * f, 3)
                o.end = None if o.end is None else round(o.end * f, 3)
    _snap_to_frames(scenes, 30)
    total = sum(s.duration for s in scenes)

    parts = _script_sentences(script, market.locale)
    # Only what a viewer can read at the market's caption speed is spoken and captioned.
    kept = fit_script(parts, total, market.caption_chars_per_second)
    if profile == "tiny" and parts and not kept:
        kept = parts[:1]  # a 1.5 s clip still carries one line, so tests exercise voice and captions
    voiceover = join_sentences(kept)
    all_text = " ".join([voiceover, title, cta, *(o.text for s in scenes for o in s.overlays)])
    fonts = _fonts(all_text, market, kit, product.handle)
    return Storyboard(
        job_key=job_key,
        product_handle=product.handle,
        market=market.code,
        locale=market.locale,
        kind=kind,  # type: ignore[arg-type]
        format=fmt,
        width=width,
        height=height,
        fps=30,
        scenes=scenes,
        voiceover=voiceover,
        captions=_cues(voiceover, total, market),
        burn_captions=(kind == "ad" and (fmt == "9:16" or look.burn_captions)) or dest.burn_captions,
        music=music,
        fonts=fonts,
        rtl=market.rtl,
        destination=destination,
        brand=brand,
        loudness_target=dest.loudness_lufs,
        metadata=StoryboardMeta(
            storyboard_version=STORYBOARD_VERSION,
            profile=profile,
            style=look.name,
            templates=dict(script.templates),
            product_id=product.id,
            product_content_hash=product.content_hash,
            market_hash=stable_hash(market.model_dump(mode="json")),
            language=market.language,
            voice=market.voice or market.language,
            ad_label=market.ad_label,
            ai_label=market.ai_label,
            ai_label_required=bool(market.ai_label) and (market.eu or market.code.lower() == "cn"),
            true_peak_dbtp=dest.true_peak_dbtp,
            images=[str(p) for p in images],
            image_alts=[i.alt for i in product.images],
            prompt=script.prompt,
            negative_prompt=script.negative_prompt,
            caption_chars_per_second=market.caption_chars_per_second,
            script_sentences=len(parts),
            spoken_sentences=len(kept),
            beat_s=beat,
            discount=_discount(product, market) if look.price.compare_at else "",
            cutouts=cutouts,
            findings=input_findings(product, cutouts, width, height, market.code),
        ),
    )


REPAIR_KEYS = ("contrast_box", "text_scale", "safe_zone", "loudness", "labels", "recaption", "layout")


def apply_repair_hints(storyboard: Storyboard, hints: dict[str, Any]) -> Storyboard:
    """A copy of the storyboard that the renderer draws with compliance.report.repair_hints' repairs.

    The hints go to metadata.repairs (the renderer reads contrast_box, text_scale and safe_zone from
    there); loudness sets the loudness target; recaption trims the voice-over to fewer sentences and
    re-times the captions. The input is not changed.
    """
    hints = {k: v for k, v in (hints or {}).items() if k in REPAIR_KEYS and v is not None}
    meta = storyboard.metadata.model_copy(deep=True)
    repairs = meta.repairs
    for k, v in hints.items():
        if k == "text_scale":
            repairs.text_scale = round(max(float(repairs.text_scale), min(3.0, float(v))), 3)
        elif k == "labels":
            repairs.labels = sorted(set(repairs.labels) | set(v))
        elif k == "safe_zone" and isinstance(v, dict):
            old = repairs.safe_zone or {}
            repairs.safe_zone = {side: max(float(old.get(side, 0.0)), float(v.get(side, 0.0) or 0.0)) for side in ("top", "bottom", "left", "right")}
        elif k == "contrast_box":
            repairs.contrast_box = bool(v)
        elif k == "recaption":
            repairs.recaption = bool(v)
        elif k == "loudness":
            repairs.loudness = float(v)
        elif k == "layout" and isinstance(v, dict) and {"LAYOUT-1", "LAYOUT-2"} & set(v):
            # Text over the product or text over text: give the product more room, so the layout moves text off it.
            repairs.air = round(min(1.45, float(repairs.air) * 1.15), 3)
    update: dict[str, Any] = {"metadata": meta, "scenes": [s.model_copy(deep=True) for s in storyboard.scenes]}
    if hints.get("loudness") is not None:
        update["loudness_target"] = float(hints["loudness"])
    if hints.get("recaption") and storyboard.voiceover.strip():
        from clips.audio import sentences
        from localization.markets import get_market

        parts = sentences(storyboard.voiceover, storyboard.locale)
        cps = float(meta.caption_chars_per_second or 15.0)
        kept = fit_script(parts, storyboard.duration, cps, fill=RECAPTION_FILL) or (
            [min(parts, key=len)] if meta.profile == "tiny" else [])
        voiceover = join_sentences(kept)
        update["voiceover"] = voiceover
        try:
            update["captions"] = _cues(voiceover, storyboard.duration, get_market(storyboard.market))
        except InputError:  # a market built in code, not in the markets folder
            from clips.captions import simple_cues

            update["captions"] = simple_cues(voiceover, storyboard.duration) if voiceover else []
        meta.spoken_sentences = len(kept)
    return storyboard.model_copy(update=update)


def _ad_scenes(images, lp, script, market, title, cta, total, generated) -> list[Scene]:
    durs = _ad_durations(total)
    n = len(durs)
    scenes: list[Scene] = []
    body = [ln for ln in ([script.hook] + list(script.lines) + [f.text for f in lp.features]) if ln][: max(0, n - 3)]
    for i, d in enumerate(durs):
        img = images[i % len(images)]
        # Repeating a photo shows a close-up, so the same picture never plays twice in a row.
        crop = None if i < len(images) else CLOSEUPS[i % len(CLOSEUPS)]
        shot = Shot(kind="image", image=img, motion=MOTIONS[i % len(MOTIONS)], crop=crop)
        if generated and i == 0:
            shot = Shot(kind="generated", image=img, motion="none", prompt=script.prompt, negative_prompt=script.negative_prompt, seed=0)
        overlays: list[TextOverlay] = []
        if i == 0:
            overlays.append(TextOverlay(role="title", text=title, start=0.3))
        elif i == n - 1:
            overlays.append(TextOverlay(role="title", text=title, start=0.0))
            overlays += _price_overlays(lp, market, start=0.2)
            if cta:
                overlays.append(TextOverlay(role="cta", text=cta, start=min(0.8, d / 3)))
        elif i == 1 or not body:
            overlays += _price_overlays(lp, market, start=0.3)
            if not lp.price_text and body:
                overlays.append(TextOverlay(role="body", text=body.pop(0), start=0.3))
        else:
            overlays.append(TextOverlay(role="body", text=body.pop(0), start=0.3))
        scenes.append(Scene(duration=d, shot=shot, overlays=overlays, transition="crossfade" if i % 2 == 0 else "slide"))
    return scenes


def _tutorial_scenes(images, lp, script, title, cta, cap) -> list[Scene]:
    steps = [s for s in script.steps if s] or [s.text for s in lp.steps] or [f.text for f in lp.features]
    if not steps:
        steps = [s.strip() for s in lp.description.text.split(".") if s.strip()][:5]
    if not steps:
        raise InputError("a tutorial needs steps, features or a description", product=lp.handle, market=lp.market, where="storyboard")
    steps = steps[:12]
    # Reading time per step (about 13 chars/s plus a beat), clamped so the whole clip is 30-90 s.
    per = [min(12.0, max(5.0, 2.0 + len(s) / 13)) for s in steps]
    intro, outro = 4.0, 4.0
    body = sum(per)
    lo, hi = 30.0, min(90.0, cap or 90.0)
    target = min(hi, max(lo, body + intro + outro))
    f = (target - intro - outro) / body
    per = [round(p * f, 2) for p in per]
    scenes = [Scene(duration=intro, shot=Shot(image=images[0], motion="zoom_in"),
                    overlays=[TextOverlay(role="title", text=title, start=0.2)], transition="crossfade")]
    for i, (text, d) in enumerate(zip(steps, per)):
        img = images[(i + 1) % len(images)]
        crop = CLOSEUPS[i % len(CLOSEUPS)]
        scenes.append(Scene(duration=d, shot=Shot(image=img, motion=MOTIONS[i % len(MOTIONS)], crop=crop),
                            overlays=[TextOverlay(role="step", text=text, start=0.2)], step=i + 1, transition="slide"))
    end = [TextOverlay(role="title", text=title, start=0.0)]
    if lp.price_text:
        end += _price_overlays(lp, None, start=0.2)
    if cta:
        end.append(TextOverlay(role="cta", text=cta, start=0.5))
    scenes.append(Scene(duration=outro, shot=Shot(image=images[0], motion="zoom_out"), overlays=end, transition="crossfade"))
    return scenes


def _beat(music: str | None) -> float | None:
    """The length of one beat of a music bed (seconds), or None for silence or an unknown bed."""
    if not music:
        return None
    try:
        import yaml

        from clips.audio import MUSIC_DIR

        data = yaml.safe_load((MUSIC_DIR / f"{music}.yaml").read_text(encoding="utf-8"))
        return 60.0 / float(data["bpm"])
    except (OSError, KeyError, TypeError, ValueError, ImportError):
        return None


def _on_beats(scenes: list[Scene], beat: float | None, transition: str) -> None:
    """Move each cut to the nearest beat of the music (the total kept), and set the style's transition."""
    for i, sc in enumerate(scenes):
        if i:
            sc.transition = "cut" if transition == "cut" else "crossfade"  # type: ignore[assignment]
    if not beat or len(scenes) < 2:
        return
    total = sum(s.duration for s in scenes)
    acc, done = 0.0, 0.0
    for sc in scenes[:-1]:
        acc += sc.duration
        cut = max(done + beat, round(acc / beat) * beat)
        sc.duration = cut - done
        done = cut
    scenes[-1].duration = max(beat, total - done)


def _discount(product: Product, market: Market) -> str:
    """The percent off the compare-at price, as the market writes a percentage ("-25 %"), or ""."""
    price, cap = product.price, product.compare_at_price
    if price is None or cap is None or cap <= 0 or cap <= price:
        return ""
    off = float((cap - price) / cap)
    if off < 0.05:
        return ""
    try:
        from babel.numbers import format_percent

        return "-" + format_percent(round(off, 2), locale=market.locale.replace("-", "_"))
    except Exception:  # noqa: BLE001 - an unknown locale still gets a readable figure
        return f"-{round(off * 100)}%"


# -- the input-quality gate ---------------------------------------------------------------------

MIN_SHORT_SIDE = 200  # px: below this a photo is unusable for a video (BLOCK)
MAX_UPSCALE = 2.0  # the product may be enlarged at most this much at its hero size
MAX_ASPECT = 3.0  # a photo wider (or taller) than this is a strip, not a product shot


def input_findings(product: Product, cutouts, width: int, height: int, market: str = "") -> list:
    """Findings for photos that would make a poor ad: too small (BLOCK), upscaled >2x, extreme aspect, no product found (WARN)."""
    from productreel.models import Finding

    from clips.layout import hero_target

    out: list[Finding] = []
    hero_px = hero_target(width, height) * height
    if width > height * 1.2:
        hero_px = min(hero_px, height * 0.9)

    def add(rule: str, severity: str, reason: str, cut, **measured) -> None:
        out.append(Finding(
            rule=rule, severity=severity,  # type: ignore[arg-type]
            message=f"{product.handle}: photo {Path(cut.image).name}: {reason}",
            evidence={"product": product.handle, "image": str(cut.image), "reason": reason, "market": market,
                      "size": [cut.width, cut.height], **measured},
            source="clips.cutout",
        ))

    for cut in cutouts:
        w, h = cut.width, cut.height
        if min(w, h) < MIN_SHORT_SIDE:
            add("INPUT-1", "BLOCK", f"too small to show ({w}x{h} px; the short side needs at least {MIN_SHORT_SIDE} px)", cut,
                short_side=min(w, h))
        if min(w, h) > 0 and max(w, h) / min(w, h) > MAX_ASPECT:
            add("INPUT-3", "WARN", f"extreme aspect ratio {max(w, h) / min(w, h):.1f}:1 (a strip, not a product shot)", cut,
                aspect=round(max(w, h) / max(1, min(w, h)), 2))
        if cut.kind == "failed":
            add("INPUT-4", "WARN", f"the product could not be found in the photo ({cut.reason or 'no cutout'})", cut)
            continue
        box_h = max(1, cut.box[3] - cut.box[1])
        box_w = max(1, cut.box[2] - cut.box[0])
        # The product's hero size: as tall as the format asks, or as wide as the frame allows.
        up = min(hero_px / box_h, width * 0.9 / box_w)
        if min(w, h) >= MIN_SHORT_SIDE and up > MAX_UPSCALE:
            add("INPUT-2", "WARN", f"would be upscaled {up:.1f}x at its hero size (the product is {box_w}x{box_h} px in the photo)",
                cut, upscale=round(up, 2))
    return out
