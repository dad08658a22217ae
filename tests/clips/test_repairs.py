"""Reading-speed fitting of the spoken script, and the repairs a compliance report asks the renderer for."""

from __future__ import annotations

import numpy as np
import pytest

from productreel.models import Script

from clips.compose import Renderer
from clips.layout import MIN_TEXT, contrast, legible_background
from clips.storyboard import apply_repair_hints, build_storyboard, fit_script


def test_fit_script_keeps_whole_sentences_in_order_hook_and_cta_first():
    parts = ["Hook here.", "A rather long middle sentence that does not fit.", "Short.", "Buy now."]
    kept = fit_script(parts, duration=6.0, chars_per_second=6.0)  # (6 - 0.5) * 6 * 0.85 = 28 chars
    assert kept == ["Hook here.", "Short.", "Buy now."]
    assert sum(len(p) for p in kept) <= 28
    assert fit_script(parts, duration=0.5, chars_per_second=4.0) == []


def test_slow_reading_market_gets_a_voiceover_it_can_read(product, lp, market):
    jp = market.model_copy(update={"code": "jp", "locale": "ja-JP", "language": "ja", "caption_chars_per_second": 4.0,
                                   "caption_chars_per_line": 13})
    script = Script(kind="ad", voiceover="ストーンウェアのマグカップ。容量は三百五十ミリリットルで、コーヒーにも紅茶にもちょうどいい大きさです。"
                                         "手作業で釉がけしました。食洗機と電子レンジに対応。今すぐ購入。")
    sb = build_storyboard(product, lp, script, jp, "ad", "9:16", job_key="k")
    assert sb.voiceover.startswith("ストーンウェアのマグカップ。") and sb.voiceover.endswith("今すぐ購入。")
    assert "三百五十" not in sb.voiceover  # the long sentence is dropped whole, not cut
    assert len(sb.voiceover) <= sb.duration * 4.0
    assert sb.captions
    for c in sb.captions:
        assert len(c.text.replace("\n", "")) / (c.end - c.start) <= 4.0 * 1.1, c
        assert c.end - c.start >= 5 / 6 - 1e-6


def test_apply_repair_hints_is_pure_and_recorded(tiny_ad):
    hints = {"contrast_box": True, "text_scale": 1.4, "loudness": -16.0, "labels": ["LBL-1"],
             "safe_zone": {"top": 0.2, "bottom": 0.3, "left": 0.1, "right": 0.1}}
    fixed = apply_repair_hints(tiny_ad, hints)
    assert "repairs" not in tiny_ad.metadata and tiny_ad.loudness_target != -16.0
    assert fixed.metadata.repairs.contrast_box is True and fixed.metadata.repairs.text_scale == 1.4
    assert fixed.loudness_target == -16.0
    again = apply_repair_hints(fixed, {"text_scale": 1.2, "labels": ["LBL-2"]})
    assert again.metadata.repairs.text_scale == 1.4  # a repair is never undone by a later round
    assert again.metadata.repairs.labels == ["LBL-1", "LBL-2"]


def test_recaption_trims_to_fewer_sentences_and_retimes(product, lp, market):
    script = Script(kind="ad", voiceover="Erster Satz hier. Zweiter Satz ist etwas länger geraten. Dritter Satz. Jetzt kaufen.")
    sb = build_storyboard(product, lp, script, market.model_copy(update={"caption_chars_per_second": 10.0}), "ad", "9:16",
                          job_key="k", duration=6.0)
    fixed = apply_repair_hints(sb, {"recaption": True})
    assert len(fixed.voiceover) < len(sb.voiceover) and fixed.voiceover.endswith("Jetzt kaufen.")
    assert fixed.captions and fixed.captions[-1].end <= fixed.duration + 1e-6


def test_legible_background_reaches_the_ratio():
    white = (255, 255, 255, 255)
    accent = (0xC2, 0x41, 0x0C, 255)
    assert contrast(accent, white) < 7.0 <= contrast(legible_background(accent, white), white)
    navy = (0x1F, 0x2A, 0x44, 255)
    assert contrast(legible_background((200, 200, 200, 120), navy), navy) >= 7.0


def _heights(sb) -> dict[str, int]:
    """The tallest box of each role (a crowded scene may have to give a repair back)."""
    out: dict[str, int] = {}
    for b in Renderer(sb).overlay_boxes():
        out[b["role"]] = max(out.get(b["role"], 0), b["box"][3] - b["box"][1])
    return out


def test_text_scale_repair_makes_small_text_larger(tiny_ad):
    from productreel.models import FORMATS

    from clips.layout import Designer
    from clips.profiles import load_brand

    full = tiny_ad.model_copy(update={"width": FORMATS["9:16"][0], "height": FORMATS["9:16"][1]})
    before, after = _heights(full), _heights(apply_repair_hints(full, {"text_scale": 1.4}))
    assert after["label"] > before["label"] * 1.15, (before["label"], after["label"])
    # The price badge's small print (prior price, tax) grows; the layout may then give the big price back
    # a little to keep the product large, so the badge is compared as drawn, at one width.
    items = {"price": "30,00 €", "prior_price": "Niedrigster Preis der letzten 30 Tage: 27,00 €", "tax": "inkl. MwSt."}
    small = Designer(full, load_brand("default")).price_badge(items, 900)
    large = Designer(apply_repair_hints(full, {"text_scale": 1.4}), load_brand("default")).price_badge(items, 900)
    assert large.height > small.height * 1.15, (small.height, large.height)


def test_small_print_is_at_least_the_floor(tiny_ad):
    from productreel.models import FORMATS

    from clips.layout import Designer
    from clips.profiles import load_brand

    full = tiny_ad.model_copy(update={"width": 1080, "height": 1920})
    d = Designer(full, load_brand("default"))
    img = d.text("inkl. MwSt.", MIN_TEXT, (255, 255, 255, 255), 900, 1)
    # A tight box of "inkl. MwSt." spans ascender to baseline: about 0.75 of the font size.
    assert img.height >= 0.7 * MIN_TEXT * min(FORMATS["9:16"])


def test_contrast_box_repair_raises_the_measured_contrast(tiny_ad):
    from compliance.visual import contrast_ratio

    sb = tiny_ad.model_copy(update={"width": 540, "height": 960, "burn_captions": True})

    def caption_contrast(s) -> float:
        r = Renderer(s)
        cap = r.captions[0]
        n = int((cap.start + cap.end) / 2 * s.fps)
        rgb = r.frame(n).to_rgb()
        return contrast_ratio(np.asarray(rgb), cap.layer.box, 1.0)

    assert sb.captions
    plain = caption_contrast(sb)
    boxed = caption_contrast(apply_repair_hints(sb, {"contrast_box": True}))
    assert boxed > plain + 0.5, (plain, boxed)


@pytest.mark.parametrize("fmt", ["9:16", "16:9", "1:1", "4:5"])
@pytest.mark.parametrize("kind", ["ad", "tutorial"])
def test_strong_repairs_still_lay_out_inside_the_tighter_safe_zone(product, lp, script, market, fmt, kind):
    from productreel.models import FORMATS

    from clips.layout import repaired_safe_box

    if kind == "tutorial":
        script = Script(kind="tutorial", steps=["Rinse the mug with warm water before the first use.", "Pour in coffee.", "Enjoy."])
    sb = build_storyboard(product, lp, script, market, kind, fmt, job_key="k", profile="tiny")
    W, H = FORMATS[fmt]
    sb = apply_repair_hints(sb.model_copy(update={"width": W, "height": H}), {
        "contrast_box": True, "text_scale": 2.0, "safe_zone": {"top": 0.08, "bottom": 0.1, "left": 0.08, "right": 0.08}})
    x0, y0, x1, y1 = repaired_safe_box(sb)
    assert x0 >= int(0.09 * W) and y0 >= int(0.09 * H)
    for b in Renderer(sb).overlay_boxes():
        bx0, by0, bx1, by1 = b["box"]
        assert x0 <= bx0 and y0 <= by0 and bx1 <= x1 and by1 <= y1, (b["role"], b["box"], (x0, y0, x1, y1))


def test_abbreviations_do_not_end_a_sentence():
    from clips.audio import sentences

    assert sentences("Set. 1. Filter spülen. 2. Kaffee einfüllen.") == ["Set.", "1. Filter spülen.", "2. Kaffee einfüllen."]
    assert sentences("Jetzt für 39,90 € inkl. MwSt. Jetzt kaufen. 今すぐ購入。価格は￥2,400です。") == [
        "Jetzt für 39,90 € inkl. MwSt.", "Jetzt kaufen.", "今すぐ購入。", "価格は￥2,400です。"]


def _gaps(sb) -> tuple[float, float]:
    """The smallest distance from any text box to the product, and the product's largest share of the frame height."""
    r = Renderer(sb)
    products = r.product_boxes()
    texts = [b["box"] for b in r.overlay_boxes() if b["role"] not in ("label", "disclosure")]
    gap = min(max(px0 - tx1, tx0 - px1, py0 - ty1, ty0 - py1, 0)
              for p in products for (px0, py0, px1, py1) in [p["box"]]
              for (tx0, ty0, tx1, ty1) in texts)
    share = max(p["share"] for p in products)
    return gap, share


def test_a_layout_repair_gives_the_product_more_room(tiny_ad):
    assert tiny_ad.metadata.repairs.air == 1.0
    fixed = apply_repair_hints(tiny_ad, {"layout": {"LAYOUT-1": {"measured": 0.08, "expected": 0.05}}})
    assert fixed.metadata.repairs.air > 1.0
    assert apply_repair_hints(tiny_ad, {"layout": {"LAYOUT-3": {"measured": 0.3}}}).metadata.repairs.air == 1.0
    before, after = _gaps(tiny_ad), _gaps(fixed)
    assert after[0] >= before[0] and after[1] < before[1]  # text no nearer; the product a little smaller
