"""Layout: where the photo card and every text box go in a frame, and how each overlay looks.

All text is drawn once per clip at output resolution (never scaled), on solid or translucent
boxes so contrast holds over any photo, and every box is placed inside the destination's safe zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from productreel.errors import RenderError
from productreel.models import Scene, Storyboard, TextOverlay

from clips.planes import even
from clips.profiles import BrandKit, SafeZone, safe_box
from clips.text import render_text

PRICE_ROLES = ("price", "compare_at", "prior_price", "tax")
LABEL_ROLES = ("label", "disclosure")
# Font size floor (share of the short side) for small print: OCR reads a line box about 0.8 of the
# font size, and compliance asks for 3 % of the short side, so 4 % keeps small lines clear of it.
MIN_TEXT = 0.04
# Contrast small print is drawn at: WCAG asks 4.5:1, and chroma subsampling plus compression take
# a good third of it off thin strokes, so small lines sit on a backing that reaches 7:1 when clean.
SMALL_TEXT_CONTRAST = 7.0


def luminance(color) -> float:
    """WCAG relative luminance of an RGB(A) color."""
    def lin(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(v)) for v in color[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    """WCAG contrast ratio between two colors."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def legible_background(bg, fg, ratio: float = SMALL_TEXT_CONTRAST) -> tuple[int, int, int, int]:
    """`bg` made opaque and darkened (for light text) or lightened (for dark text) until `fg` reaches `ratio` on it."""
    light_text = luminance(fg) > 0.5
    out = tuple(int(v) for v in bg[:3])
    for _ in range(60):
        if contrast(out, fg) >= ratio:
            break
        out = tuple(int(v * 0.93) for v in out) if light_text else tuple(int(v + (255 - v) * 0.12 + 1) for v in out)
    return (min(255, out[0]), min(255, out[1]), min(255, out[2]), 255)


@dataclass
class Frame:
    """The geometry of one clip: frame size, safe zone and the photo card."""

    width: int
    height: int
    safe: tuple[int, int, int, int]
    card: tuple[int, int, int, int]
    bleed: bool  # the card fills the frame edge to edge (no rounded corners, no shadow)
    text_box: tuple[int, int, int, int]  # where the title/step column goes

    @property
    def short(self) -> int:
        """The short side in pixels."""
        return min(self.width, self.height)


def repaired_safe_box(sb: Storyboard) -> tuple[int, int, int, int]:
    """The destination's safe box, pulled in to at least the margins a safe-zone repair names (plus 1 %)."""
    w, h = sb.width, sb.height
    box = safe_box(sb.destination, sb.format, w, h)
    zone = (sb.metadata.get("repairs") or {}).get("safe_zone")
    if not isinstance(zone, dict):
        return box
    tight = SafeZone(**{k: min(0.45, float(zone.get(k) or 0.0) + 0.01) for k in ("top", "bottom", "left", "right")}).box(w, h)
    return (max(box[0], tight[0]), max(box[1], tight[1]), min(box[2], tight[2]), min(box[3], tight[3]))


def frame_geometry(sb: Storyboard) -> Frame:
    """Place the photo card and the text column for the storyboard's format and destination."""
    w, h = sb.width, sb.height
    safe = repaired_safe_box(sb)
    sx0, sy0, sx1, sy1 = safe
    if h > w * 1.5:  # 9:16: a square card between the title and the bottom UI
        side = even(w * 0.89)
        x0 = even((w - side) / 2)
        y0 = min(even(sy0 + (sy1 - sy0) * 0.28), even(h - side - w * 0.02))
        return Frame(w, h, safe, (x0, y0, x0 + side, y0 + side), False, (sx0, sy0, sx1, y0))
    if h * 1.2 < w:  # 16:9: a full-height card on one side, the text column on the reading side
        side = even(h)
        if sb.rtl:
            return Frame(w, h, safe, (0, 0, side, h), True, (even(side + h * 0.04), sy0, sx1, sy1))
        return Frame(w, h, safe, (w - side, 0, w, h), True, (sx0, sy0, even(w - side - h * 0.04), sy1))
    if h > w * 1.1:  # 4:5: title band on top, full-width square card below
        side = w
        return Frame(w, h, safe, (0, h - side, w, h), True, (sx0, sy0, sx1, h - side))
    return Frame(w, h, safe, (0, 0, w, h), True, safe)  # 1:1: the photo fills the frame


def _rounded(size: tuple[int, int], radius: int, fill) -> Image.Image:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(img).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=radius, fill=tuple(fill))
    return img


def chip(content: Image.Image, bg, pad_x: int, pad_y: int, radius: int) -> Image.Image:
    """Text on a rounded box: the box guarantees contrast whatever is behind it."""
    w, h = content.size
    box = _rounded((w + 2 * pad_x, h + 2 * pad_y), radius, bg)
    box.alpha_composite(content, (pad_x, pad_y))
    return box


class _Overflow(Exception):
    """The overlays of a scene do not fit between the top and bottom of the safe zone."""


@dataclass
class Placed:
    """An overlay image with its place and timing (scene-relative seconds)."""

    role: str
    texts: list[str]
    image: Image.Image
    x: int
    y: int
    start: float = 0.0
    end: float | None = None
    fade: float = 0.25
    meta: dict = field(default_factory=dict)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in frame pixels."""
        return (self.x, self.y, self.x + self.image.width, self.y + self.image.height)


class Designer:
    """Draws overlays in the brand's style for one storyboard."""

    def __init__(self, sb: Storyboard, brand: BrandKit) -> None:
        self.sb = sb
        self.brand = brand
        self.geo = frame_geometry(sb)
        self.fonts = [Path(f) for f in sb.fonts] or brand.font_files("heading")
        s = self.geo.short
        self.s = s
        self.radius = max(2, int(s * brand.corner_radius))
        self.lang = (sb.locale or "en").split("-")[0].split("_")[0]
        self.k = 1.0  # text scale: a crowded scene is laid out again a little smaller
        self.truncated: list[dict] = []
        # Repairs a compliance check asked for (clips.storyboard.apply_repair_hints records them).
        repairs = sb.metadata.get("repairs") or {}
        self.boxed = bool(repairs.get("contrast_box"))
        self.scale = max(1.0, float(repairs.get("text_scale") or 1.0))
        self.floor = True  # small print keeps MIN_TEXT; off only as the last resort of a crowded scene

    def color(self, name: str) -> tuple[int, int, int, int]:
        """A brand color; with the contrast repair, text boxes are opaque instead of translucent."""
        c = self.brand.color(name)
        labels = name == "label_bg" and (self.sb.metadata.get("repairs") or {}).get("labels")
        if (self.boxed or labels) and name.endswith("_bg"):
            c = legible_background(c, self.brand.color(name.replace("_bg", "_text")), 7.0)
        return c

    def size(self, size: float) -> float:
        """A text size (share of the short side) with the text-size repair applied to small text."""
        if self.scale <= 1.0 or size >= 0.07:
            return size
        return min(size * self.scale, max(size, 0.07))

    def text(self, text: str, size: float, color, max_width: int, max_lines: int = 2, align: str = "center",
             truncate: bool = False) -> Image.Image:
        """Text at output resolution through the shared text drawer.

        It first wraps at nearly full size (a second line reads better than tiny type); only when
        that fails may it shrink further, and finally take one more line. With `truncate` (titles,
        feature lines, steps; never prices) text that still does not fit is cut at a word with an
        ellipsis rather than failing the clip; the cut is recorded in `self.truncated`.
        """
        size = self.size(size)
        px = max(6, int(round(size * self.s * self.k)))
        # Never smaller than the small-print floor, unless it was asked for smaller (or cannot fit otherwise).
        floor = min(px, max(6, int(round(MIN_TEXT * self.s * min(self.scale, 1.5))))) if self.floor else 1
        tries = [(0.85, max_lines), (0.6, max_lines), (0.6, max_lines + 1)] if max_lines > 1 else [(0.6, 1), (0.5, 2)]
        tries = [(max(r, floor / px), n) for r, n in tries] + [(0.6, max_lines + 1)]
        last: RenderError | None = None
        for ratio, lines in tries:
            try:
                return self._draw(text, px, ratio, lines, color, max_width, align)
            except RenderError as exc:
                if "too long" not in str(exc):
                    raise RenderError(exc.message, product=self.sb.product_handle, market=self.sb.market, where="layout") from exc
                last = exc
        if truncate:
            words = text.split() if " " in text.strip() else list(text)
            joiner = " " if " " in text.strip() else ""
            while len(words) > 1:
                words = words[:-1]
                short = joiner.join(words).rstrip(",;:-–—") + "…"
                try:
                    img = self._draw(short, px, 0.6, tries[-1][1], color, max_width, align)
                except RenderError:
                    continue
                self.truncated.append({"text": text, "shown": short})
                return img
        raise RenderError(last.message if last else "text does not fit", product=self.sb.product_handle,
                          market=self.sb.market, where="layout")

    def _draw(self, text: str, px: int, ratio: float, lines: int, color, max_width: int, align: str) -> Image.Image:
        return render_text(
            text, fonts=self.fonts, size=px, color=color, max_width=max(8, max_width), max_lines=lines,
            min_size=max(6, int(px * ratio)), align=align, rtl=self.sb.rtl, lang=self.lang,
        )

    # -- the pieces -------------------------------------------------------------------------

    def label_chip(self, text: str, disclosure: bool) -> Image.Image:
        """The ad or AI label; the AI label's text is at least 5 % of the short side tall."""
        k, self.k = self.k, 1.0  # labels keep one size in every scene (and the AI label its minimum)
        try:
            return self._label_chip(text, disclosure)
        finally:
            self.k = k

    def _label_chip(self, text: str, disclosure: bool) -> Image.Image:
        b = self.brand
        size = 0.065 if disclosure else 0.04
        if (self.sb.metadata.get("repairs") or {}).get("labels"):
            size *= 1.25  # a label the check could not read on screen is drawn larger (and boxed opaque)
        t = self.text(text, size, b.color("label_text"), int((self.geo.safe[2] - self.geo.safe[0]) * 0.9), 1)
        if disclosure and t.height < 0.05 * self.s:  # tight box of glyphs lower than the rule asks
            t = self.text(text, size * 0.05 * self.s / max(1, t.height) * 1.05, b.color("label_text"), int((self.geo.safe[2] - self.geo.safe[0]) * 0.95), 1)
        return chip(t, self.color("label_bg"), int(self.s * 0.02), int(self.s * 0.012), self.radius // 2)

    def title(self, text: str, max_width: int, boxed: bool) -> Image.Image:
        """The product title: heading size, two lines at most (on a box when it sits on the photo or contrast is repaired)."""
        b = self.brand
        boxed = boxed or self.boxed
        t = self.text(text, 0.075, b.color("text") if not boxed else b.color("label_text"),
                      max_width - (int(self.s * 0.06) if boxed else 0), 2, truncate=True)
        return chip(t, self.color("label_bg"), int(self.s * 0.03), int(self.s * 0.02), self.radius) if boxed else t

    def price_badge(self, items: dict[str, str], max_width: int) -> Image.Image:
        """The price badge: price, struck-through compare-at price, prior-price and tax lines."""
        b = self.brand
        fg, bg = b.color("on_accent"), b.color("accent")
        if self.boxed:
            bg = legible_background(bg, fg)
        inner = max_width - int(self.s * 0.08)
        rows: list[Image.Image] = []
        price = self.text(items["price"], 0.09, fg, inner, 1)
        if "compare_at" in items:
            cap = self.text(items["compare_at"], 0.05, fg, inner // 2, 1)  # full white: the strike marks it, not a fade
            # The strike line is drawn, not a font feature, so every script and font gets one.
            d = ImageDraw.Draw(cap)
            yy = cap.height // 2
            d.line((0, yy, cap.width, yy), fill=fg, width=max(2, cap.height // 9))
            gap = int(self.s * 0.025)
            if price.width + gap + cap.width <= inner:
                row = Image.new("RGBA", (price.width + gap + cap.width, max(price.height, cap.height)), (0, 0, 0, 0))
                row.alpha_composite(price, (0, row.height - price.height))
                row.alpha_composite(cap, (price.width + gap, row.height - cap.height - price.height // 10))
                rows.append(row)
            else:
                rows += [price, cap]
        else:
            rows.append(price)
        gap = int(self.s * 0.012)
        small = []
        if "prior_price" in items:
            small.append(self.text(items["prior_price"], MIN_TEXT, fg, inner - int(self.s * 0.04), 2))
        if "tax" in items:
            small.append(self.text(items["tax"], MIN_TEXT, fg, inner - int(self.s * 0.04), 1))
        if small:
            # Small print sits on its own darker strip: the accent alone is too light for it once encoded.
            sw, sh = max(r.width for r in small), sum(r.height for r in small) + gap * (len(small) - 1)
            body = Image.new("RGBA", (sw, sh), (0, 0, 0, 0))
            y = 0
            for r in small:
                body.alpha_composite(r, ((sw - r.width) // 2, y))
                y += r.height + gap
            rows.append(chip(body, legible_background(bg, fg), int(self.s * 0.02), int(self.s * 0.012), self.radius // 2))
        w = max(r.width for r in rows)
        h = sum(r.height for r in rows) + gap * (len(rows) - 1)
        body = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        y = 0
        for r in rows:
            body.alpha_composite(r, ((w - r.width) // 2, y))
            y += r.height + gap
        return chip(body, bg, int(self.s * 0.04), int(self.s * 0.028), self.radius)

    def cta(self, text: str, max_width: int) -> Image.Image:
        """The call to action as a button."""
        b = self.brand
        t = self.text(text, 0.055, b.color("on_accent"), max_width - int(self.s * 0.1), 1)
        return chip(t, b.color("primary"), int(self.s * 0.05), int(self.s * 0.025), self.radius * 3)

    def body(self, text: str, max_width: int) -> Image.Image:
        """A feature line on a light box."""
        b = self.brand
        t = self.text(text, 0.05, b.color("label_text"), max_width - int(self.s * 0.06), 3, truncate=True)
        return chip(t, self.color("label_bg"), int(self.s * 0.03), int(self.s * 0.02), self.radius)

    def step(self, number: int, text: str, max_width: int) -> Image.Image:
        """A numbered step: the number in a brand-colored disc beside the instruction."""
        b = self.brand
        d = int(self.s * 0.12)
        disc = Image.new("RGBA", (d, d), (0, 0, 0, 0))
        ImageDraw.Draw(disc).ellipse((0, 0, d - 1, d - 1), fill=b.color("accent"))
        num = self.text(str(number), 0.07, b.color("on_accent"), d, 1)
        disc.alpha_composite(num, ((d - num.width) // 2, (d - num.height) // 2))
        gap = int(self.s * 0.025)
        t = self.text(text, 0.056, b.color("label_text"), max_width - d - gap - int(self.s * 0.06), 3,
                      align="right" if self.sb.rtl else "left", truncate=True)
        t = chip(t, self.color("label_bg"), int(self.s * 0.03), int(self.s * 0.02), self.radius)
        h = max(d, t.height)
        out = Image.new("RGBA", (d + gap + t.width, h), (0, 0, 0, 0))
        if self.sb.rtl:
            out.alpha_composite(t, (0, (h - t.height) // 2))
            out.alpha_composite(disc, (t.width + gap, (h - d) // 2))
        else:
            out.alpha_composite(disc, (0, (h - d) // 2))
            out.alpha_composite(t, (d + gap, (h - t.height) // 2))
        return out

    def caption(self, text: str) -> Image.Image:
        """A burned-in caption: white on a translucent black box, two lines at most."""
        b = self.brand
        sx0, _, sx1, _ = self.geo.safe
        t = self.text(text, 0.042, b.color("caption_text"), int((sx1 - sx0) * 0.92), 2)
        return chip(t, self.color("caption_bg"), int(self.s * 0.02), int(self.s * 0.012), self.radius // 2)

    def caption_slot(self) -> int:
        """The height kept free at the bottom of the safe zone for burned-in captions."""
        line = int(round(self.size(0.042) * self.s * 1.25))
        return 2 * line + 2 * int(self.s * 0.012) + int(self.s * 0.02)

    # -- one scene ------------------------------------------------------------------------

    def scene_overlays(self, scene: Scene, index: int, n_scenes: int) -> list[Placed]:
        """Every overlay of a scene, drawn and placed inside the safe zone (smaller when crowded)."""
        # Smaller when crowded: first the layout scale, then a lesser text-size repair, and only
        # then small print below its floor (a clip that renders beats one that fails).
        scale, floor = self.scale, self.floor
        scales = [scale] + ([round((scale + 1.0) / 2, 3), 1.0] if scale > 1.0 else [])
        tries = [(sc, k, True) for sc in scales for k in (1.0, 0.85, 0.72)] + [(1.0, 0.72, False)]
        try:
            for sc, k, use_floor in tries:
                self.scale, self.k, self.floor = sc, k, floor and use_floor
                try:
                    return self._scene_overlays(scene, index, n_scenes)
                except _Overflow:
                    continue
        finally:
            self.scale, self.k, self.floor = scale, 1.0, floor
        raise RenderError(
            f"overlays of scene {index + 1} do not fit the {self.sb.format} safe zone of {self.sb.destination}",
            product=self.sb.product_handle, market=self.sb.market, where="layout",
        )

    def _scene_overlays(self, scene: Scene, index: int, n_scenes: int) -> list[Placed]:
        g = self.geo
        sx0, sy0, sx1, sy1 = g.safe
        tx0, ty0, tx1, ty1 = g.text_box
        pad = int(self.s * 0.02)
        out: list[Placed] = []
        by_role: dict[str, list[TextOverlay]] = {}
        for o in scene.overlays:
            by_role.setdefault(o.role, []).append(o)

        # Top: labels in a row (wrapping to a second row), then title or step.
        x, y, row_h = sx0, sy0, 0
        for o in by_role.get("label", []) + by_role.get("disclosure", []):
            img = self.label_chip(o.text, o.role == "disclosure")
            if x > sx0 and x + img.width > sx1:
                x, y, row_h = sx0, y + row_h + pad, 0
            lx = sx0 + sx1 - x - img.width if self.sb.rtl else x  # RTL: the row starts at the right
            out.append(Placed(o.role, [o.text], img, lx, y, o.start, o.end, fade=0.0))
            x += img.width + pad
            row_h = max(row_h, img.height)
        top = y + row_h + (pad if row_h else 0)
        if self.brand.logo and Path(self.brand.logo).exists():
            logo = Image.open(self.brand.logo).convert("RGBA")
            lh = int(self.s * 0.06)
            logo = logo.resize((max(1, logo.width * lh // logo.height), lh), Image.LANCZOS)
            out.append(Placed("logo", [], logo, sx0 if self.sb.rtl else sx1 - logo.width, sy0, 0.0, None, fade=0.0))

        col_x0 = max(tx0, sx0)
        col_w = min(tx1, sx1) - col_x0
        landscape = g.width > g.height * 1.2
        rtl = self.sb.rtl

        def start_x(img: Image.Image) -> int:
            """Flush with the reading side of the text column (right for RTL scripts)."""
            return col_x0 + col_w - img.width if rtl else col_x0
        bottom = sy1 - (self.caption_slot() + pad if self.sb.burn_captions else 0)
        if landscape:
            bottom -= int(self.s * 0.03)  # the progress bar

        def center_x(img: Image.Image) -> int:
            return col_x0 + (col_w - img.width) // 2 if not landscape else start_x(img)

        for o in by_role.get("title", []):
            boxed = g.bleed and not landscape and g.card[1] <= top + 1
            img = self.title(o.text, col_w, boxed)
            out.append(Placed("title", [o.text], img, center_x(img), max(top, ty0), o.start, o.end))
            top = max(top, ty0) + img.height + pad
        for o in by_role.get("step", []):
            img = self.step(scene.step or 1, o.text, col_w)
            y = top
            if landscape:  # the instruction sits in the middle of the text column, above the price/CTA stack
                y = max(top, min(bottom - img.height, (ty0 + bottom) // 2 - img.height // 2 - int(self.s * 0.1)))
            out.append(Placed("step", [o.text], img, start_x(img), y, o.start, o.end, meta={"step": scene.step}))
            top = y + img.height + pad

        # Bottom, stacked upwards: CTA, then the price badge, then a feature line.
        stack: list[Placed] = []
        ctas = by_role.get("cta", [])
        for o in ctas:
            img = self.cta(o.text, col_w if landscape else sx1 - sx0)
            stack.append(Placed("cta", [o.text], img, 0, 0, o.start, o.end))
        price = {o.role: o.text for r in PRICE_ROLES for o in by_role.get(r, [])}
        if "price" in price:
            first = min((o for r in PRICE_ROLES for o in by_role.get(r, [])), key=lambda o: o.start)
            img = self.price_badge(price, col_w if landscape else sx1 - sx0)
            stack.append(Placed("price", [price[r] for r in PRICE_ROLES if r in price], img, 0, 0, first.start, first.end,
                                meta={"roles": [r for r in PRICE_ROLES if r in price]}))
        for o in by_role.get("body", []):
            img = self.body(o.text, col_w if landscape else sx1 - sx0)
            stack.append(Placed("body", [o.text], img, 0, 0, o.start, o.end))
        y = bottom
        for p in stack:
            y -= p.image.height
            p.y = y
            p.x = start_x(p.image) if landscape else sx0 + (sx1 - sx0 - p.image.width) // 2
            y -= pad
        out += stack
        if y < top - pad:
            raise _Overflow
        return out


def card_shadow(size: tuple[int, int], card: tuple[int, int, int, int], radius: int, strength: int = 70) -> Image.Image:
    """A soft drop shadow under the photo card, drawn once into the background."""
    x0, y0, x1, y1 = card
    blur = max(2, radius)
    sh = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(sh).rounded_rectangle((x0, y0 + blur // 2, x1, y1 + blur // 2), radius=radius, fill=(0, 0, 0, strength))
    return sh.filter(ImageFilter.GaussianBlur(blur))
