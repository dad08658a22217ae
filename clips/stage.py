"""The stage a product stands on: backdrop colours and pictures per style, and the product sprite.

Everything here is drawn once per scene (never per frame): the backdrop as a full frame, the
product as one RGBA sprite (cutout plus its soft contact shadow, or the photo as a rounded card
for a lifestyle shot) that the renderer then scales and moves per frame.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from productreel.models import Cutout

from clips.cutout import load_rgba, mask_image
from clips.profiles import BrandKit
from clips.styles import Style

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

SHADOW_DEPTH = 0.09  # the contact shadow reaches this share of the product's height below it
Color = tuple[int, int, int]


def _lum(c) -> float:
    def lin(v: float) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])


def _contrast(a, b) -> float:
    la, lb = _lum(a), _lum(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _hls(c: Color) -> tuple[float, float, float]:
    return colorsys.rgb_to_hls(*(v / 255 for v in c[:3]))


def _rgb(h: float, l: float, s: float) -> Color:
    r, g, b = colorsys.hls_to_rgb(h, min(1, max(0, l)), min(1, max(0, s)))
    return (int(r * 255 + 0.5), int(g * 255 + 0.5), int(b * 255 + 0.5))


def shade(c: Color, f: float) -> Color:
    """`c` lighter (f > 0, towards white) or darker (f < 0, towards black)."""
    if f >= 0:
        return tuple(int(v + (255 - v) * f) for v in c[:3])  # type: ignore[return-value]
    return tuple(int(v * (1 + f)) for v in c[:3])  # type: ignore[return-value]


def ink_on(bg: Color, dark: Color = (31, 42, 68), light: Color = (255, 255, 255)) -> Color:
    """The text colour that reads best on `bg`: the brand's dark ink or white."""
    return dark if _contrast(dark, bg) >= _contrast(light, bg) else light


@dataclass
class Palette:
    """The colours of one scene's stage."""

    base: Color  # the backdrop
    floor: Color  # the studio floor below the product
    block: Color  # brand colour block behind text (sale) or accent shapes
    ink: Color  # text drawn straight on the backdrop
    block_ink: Color  # text drawn on the block
    accent: Color


def palette(style: Style, brand: BrandKit, cut: Cutout | None) -> Palette:
    """A stage's colours from the style's tint: the photo's own backdrop, the brand, or the product's colour."""
    bg_brand = tuple(brand.color("background")[:3])
    accent = tuple(brand.color("accent")[:3])
    primary = tuple(brand.color("primary")[:3])
    photo_bg = tuple(cut.background) if cut is not None and cut.background else None
    prod = tuple(cut.palette[0]) if cut is not None and cut.palette else primary
    if style.tint == "photo" and photo_bg is not None:
        base = photo_bg
    elif style.tint == "product":
        h, l, s = _hls(prod)
        base = _rgb(h, 0.32 if l > 0.5 else 0.78, max(0.45, s)) if s > 0.08 else _rgb(_hls(accent)[0], 0.3, 0.55)
    else:
        base = bg_brand
    if style.backdrop == "minimal":
        h, l, s = _hls(base)
        base = _rgb(h, max(0.86, min(0.93, l)), min(s, 0.18)) if s > 0.03 else _rgb(0.09, 0.9, 0.12)  # grey -> warm stone
    # The product must stand out from its backdrop: a backdrop too close to the product's own colour moves away from it.
    if _contrast(base, prod) < 1.15:
        base = shade(base, 0.35) if _lum(prod) < 0.4 else shade(base, -0.18)
    floor = shade(base, -0.08) if _lum(base) > 0.2 else shade(base, 0.08)
    block = primary if style.backdrop == "block" else accent
    if style.backdrop == "block" and _contrast(block, base) < 2.0:
        block = accent
    ink = ink_on(base, dark=primary)
    return Palette(base=base, floor=floor, block=block, ink=ink, block_ink=ink_on(block, dark=primary), accent=accent)


def backdrop(style: Style, pal: Palette, size: tuple[int, int], product: tuple[int, int, int, int],
             blocks: list[tuple[int, int, int, int]] = (), photo: Image.Image | None = None) -> Image.Image:
    """The scene's backdrop as an RGB image: a spotlight behind the product, a floor under it, colour blocks behind text.

    `product` is the product's box at rest; `blocks` are text areas the style backs with a colour block;
    `photo` (a lifestyle shot) is shown full-bleed, blurred and dimmed, behind its sharp card.
    """
    W, H = size
    # Everything here is smooth: drawn at a quarter of the size and scaled up (16x less work), then
    # the crisp colour blocks are drawn at full size.
    q = 4
    w, h = max(2, W // q), max(2, H // q)
    px0, py0, px1, py1 = (v / q for v in product)
    cx, cy = (px0 + px1) / 2, (py0 + py1) / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if photo is not None:
        img = _cover(photo.convert("RGB"), (w, h))
        arr = np.asarray(img.filter(ImageFilter.GaussianBlur(max(2, w // 40)))).astype(np.float32)
        arr = arr * 0.5 + np.array(pal.base, np.float32) * 0.08
    else:
        base = np.array(pal.base, np.float32)
        arr = np.broadcast_to(base, (h, w, 3)).copy()
        floor_y = py1 - (py1 - py0) * 0.06
        if style.backdrop in ("studio", "minimal", "block", "social"):
            # The floor: a slightly different tone below a soft horizon, so the product stands on something.
            t = np.clip((yy - floor_y) / max(1.0, h * 0.02 + 1), 0, 1)[..., None]
            arr = arr * (1 - t) + np.array(pal.floor, np.float32) * t
    # A spotlight behind the product and a vignette to the edges: every row and column changes tone.
    rx, ry = max(1.0, w * 0.62), max(1.0, h * 0.55)
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    light = 0.16 if style.backdrop != "minimal" else 0.1
    gain = 1.0 + light * (1.0 - np.clip(d, 0, 1.6) / 0.8)
    lum = float(np.mean(pal.base)) / 255
    if lum > 0.8:  # a near-white backdrop cannot get lighter: the vignette darkens instead
        gain = np.minimum(gain, 1.0) - 0.04 * np.clip(d - 0.3, 0, 1.3)
    arr = arr * gain[..., None]
    if style.backdrop == "social" and photo is None:
        # Two soft discs of the accent behind the product: the backdrop reads as designed, not empty.
        for (ox, oy, r, a) in ((0.18, 0.22, 0.34, 0.22), (0.85, 0.78, 0.42, 0.18)):
            dd = np.sqrt((xx - ox * w) ** 2 + (yy - oy * h) ** 2) / (r * max(w, h))
            m = np.clip(1.2 - dd, 0, 1)[..., None] * a
            arr = arr * (1 - m) + np.array(shade(pal.block, 0.15), np.float32) * m
    small = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
    if cv2 is not None:
        out = Image.fromarray(cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC), "RGB")
    else:  # pragma: no cover
        out = Image.fromarray(small, "RGB").resize((W, H), Image.BICUBIC)
    w, h = W, H
    if blocks:
        draw = ImageDraw.Draw(out)
        rad = int(min(w, h) * 0.03)
        for b in blocks:
            draw.rounded_rectangle(b, radius=rad, fill=tuple(pal.block))
    return out


def _cover(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    w, h = size
    iw, ih = img.size
    s = max(w / iw, h / ih)
    nw, nh = max(w, round(iw * s)), max(h, round(ih * s))
    img = img.resize((nw, nh), Image.BILINEAR)
    x0, y0 = (nw - w) // 2, (nh - h) // 2
    return img.crop((x0, y0, x0 + w, y0 + h))


def product_sprite(cut: Cutout, target: tuple[int, int], style: Style, radius: int,
                   crop: tuple[float, float, float, float] | None = None) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The product as an RGBA sprite no larger than it will be shown, and the product box inside it (fractions).

    A cutout gets its contact shadow drawn below it; a lifestyle or failed cutout is the photo
    (cropped around its salient box to the target's shape) on a rounded card with a drop shadow.
    """
    tw, th = max(2, target[0]), max(2, target[1])
    img = load_rgba(cut.image)
    mask = mask_image(cut) if cut.kind in ("alpha", "studio") else None
    if cut.kind == "alpha":
        mask = img.getchannel("A")
    if mask is not None:
        x0, y0, x1, y1 = cut.box
        prod = img.crop((x0, y0, x1, y1))
        prod.putalpha(mask.crop((x0, y0, x1, y1)))
        pw, ph = prod.size
        s = min(tw / pw, th / (ph * (1 + SHADOW_DEPTH)))
        nw, nh = max(2, round(pw * s)), max(2, round(ph * s))
        prod = prod.resize((nw, nh), Image.LANCZOS)
        shadow_h = max(2, round(nh * SHADOW_DEPTH))
        pad = max(4, round(nw * 0.08))
        W, H = nw + 2 * pad, nh + shadow_h + pad
        sprite = Image.new("RGBA", (W, H), (0, 0, 0, 0))
        # Contact shadow: a soft ellipse where the product meets the floor, plus a faint wide one.
        sh = Image.new("L", (W, H), 0)
        d = ImageDraw.Draw(sh)
        a = int(255 * style.product.shadow)
        base_y = pad // 2 + nh
        d.ellipse((pad + nw * 0.02, base_y - shadow_h * 0.5, pad + nw * 0.98, base_y + shadow_h * 0.7), fill=a // 2)
        d.ellipse((pad + nw * 0.12, base_y - shadow_h * 0.3, pad + nw * 0.88, base_y + shadow_h * 0.35), fill=a)
        sh = sh.filter(ImageFilter.GaussianBlur(max(2, shadow_h * 0.45)))
        sprite.putalpha(sh)
        sprite.alpha_composite(prod, (pad, pad // 2))
        box = (pad / W, (pad // 2) / H, (pad + nw) / W, (pad // 2 + nh) / H)
        return sprite, box
    # A photo card: the salient box widened to the target's shape (inside the photo), rounded, with a soft shadow.
    W0, H0 = img.size
    if crop:
        cx0, cy0, cx1, cy1 = crop
        img = img.crop((int(cx0 * W0), int(cy0 * H0), max(int(cx0 * W0) + 2, int(cx1 * W0)), max(int(cy0 * H0) + 2, int(cy1 * H0))))
        W0, H0 = img.size
        sx0, sy0, sx1, sy1 = 0, 0, W0, H0
    else:
        sx0, sy0, sx1, sy1 = cut.box if cut.kind == "lifestyle" else (0, 0, W0, H0)
    want = tw / th
    bw, bh = max(2, sx1 - sx0), max(2, sy1 - sy0)
    # Widen the salient box by a margin of context, then to the target aspect, clamped to the photo.
    bw, bh = min(W0, bw * 1.25), min(H0, bh * 1.25)
    if bw / bh < want:
        bw = min(W0, bh * want)
        bh = min(H0, bw / want)
    else:
        bh = min(H0, bw / want)
        bw = min(W0, bh * want)
    cx, cy = (sx0 + sx1) / 2, (sy0 + sy1) / 2
    x0 = min(max(0, cx - bw / 2), W0 - bw)
    y0 = min(max(0, cy - bh / 2), H0 - bh)
    cx0, cy0 = int(x0), int(y0)
    card = img.crop((cx0, cy0, max(cx0 + 1, int(x0 + bw)), max(cy0 + 1, int(y0 + bh)))).convert("RGB")
    s = min(tw / card.width, th / card.height, 1e9)
    nw, nh = max(2, round(card.width * s)), max(2, round(card.height * s))
    card = card.resize((nw, nh), Image.LANCZOS)
    pad = max(6, round(max(nw, nh) * 0.05))
    W, H = nw + 2 * pad, nh + 2 * pad
    sprite = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    sh = Image.new("L", (W, H), 0)
    ImageDraw.Draw(sh).rounded_rectangle((pad, pad + pad // 3, pad + nw, pad + nh + pad // 3), radius=radius, fill=int(110 * style.product.shadow / 0.4))
    sprite.putalpha(sh.filter(ImageFilter.GaussianBlur(pad / 2.5)))
    m = Image.new("L", (nw, nh), 0)
    ImageDraw.Draw(m).rounded_rectangle((0, 0, nw - 1, nh - 1), radius=radius, fill=255)
    card = card.convert("RGBA")
    card.putalpha(m)
    sprite.alpha_composite(card, (pad, pad))
    return sprite, (pad / W, pad / H, (pad + nw) / W, (pad + nh) / H)
