"""Layout, product first: where the product stands in each scene, where every text box goes, and how each looks.

Per scene, the text is drawn first (once, at output resolution, never scaled), then `arrange` tries
the format's arrangements (text above and below the product, all text above it, a side column) and
sizes the product into the space the text leaves: the first arrangement whose product reaches its
hero size (45 % of the frame height in 9:16 and 4:5, 60 % in 1:1 and 16:9) wins. Text never goes over
the product and no two boxes overlap; crowded text is drawn smaller, then wrapped, then cut with an
ellipsis. Every box stays inside the destination's safe zone; RTL markets mirror the arrangement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from productreel.errors import RenderError
from productreel.models import Scene, Storyboard, TextOverlay

from clips.planes import even
from clips.profiles import BrandKit, SafeZone, safe_box
from clips.text import render_text

PRICE_ROLES = ("price", "compare_at", "prior_price", "tax")
BURST = (255, 204, 0, 255)  # the sale burst: signal yellow, dark text on it
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
    zone = sb.metadata.repairs.safe_zone
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
        repairs = sb.metadata.repairs
        self.boxed = repairs.contrast_box
        self.scale = max(1.0, float(repairs.text_scale or 1.0))
        self.floor = True  # small print keeps MIN_TEXT; off only as the last resort of a crowded scene
        from clips.styles import load_style

        self.style = load_style(sb.metadata.style or "studio")
        self.ink: tuple = tuple(brand.color("text"))  # text straight on the backdrop (set per scene from its palette)

    def color(self, name: str) -> tuple[int, int, int, int]:
        """A brand color; with the contrast repair, text boxes are opaque instead of translucent."""
        c = self.brand.color(name)
        labels = name == "label_bg" and self.sb.metadata.repairs.labels
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
        if self.sb.metadata.repairs.labels:
            size *= 1.25  # a label the check could not read on screen is drawn larger (and boxed opaque)
        t = self.text(text, size, b.color("label_text"), int((self.geo.safe[2] - self.geo.safe[0]) * 0.9), 1)
        if disclosure and t.height < 0.05 * self.s:  # tight box of glyphs lower than the rule asks
            t = self.text(text, size * 0.05 * self.s / max(1, t.height) * 1.05, b.color("label_text"), int((self.geo.safe[2] - self.geo.safe[0]) * 0.95), 1)
        return chip(t, self.color("label_bg"), int(self.s * 0.02), int(self.s * 0.012), self.radius // 2)

    def title(self, text: str, max_width: int, boxed: bool, size: float | None = None) -> Image.Image:
        """The product title: heading size, two lines at most (on a box when it sits on the photo or contrast is repaired)."""
        b = self.brand
        boxed = boxed or self.boxed
        if self.style.text.title_case == "upper":
            text = text.upper()
        ink = self.ink if self.ink is not None else b.color("text")
        t = self.text(text, size or 0.075, ink if not boxed else b.color("label_text"),
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
        if self.style.price.shape == "plain":
            # Premium: the price as large type straight on the backdrop, the small print on its strip below.
            plain = Image.new("RGBA", (w, h), (0, 0, 0, 0))
            y = 0
            for i, r in enumerate(rows):
                if i < len(rows) - (1 if small else 0):
                    r = _recolor(r, self.ink)
                plain.alpha_composite(r, ((w - r.width) // 2, y))
                y += r.height + gap
            return plain
        badge = chip(body, bg, int(self.s * 0.04), int(self.s * 0.028), self.radius)
        if self.style.price.shape == "burst" and self.sb.metadata.discount:
            # The sale's percent-off burst beside the badge.
            t = self.text(self.sb.metadata.discount, 0.06, b.color("primary"), int(self.s * 0.3), 1)
            d = int(max(t.width, t.height) * 1.35) + int(self.s * 0.03)
            burst = Image.new("RGBA", (d, d), (0, 0, 0, 0))
            _star(burst, BURST)
            burst.alpha_composite(t, ((d - t.width) // 2, (d - t.height) // 2))
            gap2 = int(self.s * 0.02)
            if badge.width + gap2 + d <= max_width:
                row = Image.new("RGBA", (badge.width + gap2 + d, max(badge.height, d)), (0, 0, 0, 0))
                order = [(burst, d), (badge, badge.width)] if self.sb.rtl else [(badge, badge.width), (burst, d)]
                x = 0
                for im, ww in order:
                    row.alpha_composite(im, (x, (row.height - im.height) // 2))
                    x += ww + gap2
                return row
        return badge

    def wordmark(self, text: str, max_width: int) -> Image.Image:
        """The brand's logo, or its name as a wordmark when the kit has no logo file."""
        if self.brand.logo and Path(self.brand.logo).exists():
            logo = Image.open(self.brand.logo).convert("RGBA")
            lh = int(self.s * 0.07)
            return logo.resize((max(1, logo.width * lh // logo.height), lh), Image.LANCZOS)
        return self.text(text.upper(), 0.045, self.ink, max_width, 1, truncate=True)

    def cta(self, text: str, max_width: int) -> Image.Image:
        """The call to action as a button."""
        b = self.brand
        fg, bg = b.color("on_accent"), b.color("primary")
        if self.style.backdrop == "block":  # on the brand-colour block the button turns white
            fg, bg = b.color("primary"), (255, 255, 255, 255)
        t = self.text(text, 0.055, fg, max_width - int(self.s * 0.1), 1)
        return chip(t, bg, int(self.s * 0.05), int(self.s * 0.025), self.radius * 3)

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

    def caption(self, text: str, width: int | None = None, highlight: int | None = None) -> Image.Image:
        """A burned-in caption: white on a translucent black box, two lines at most.

        With `highlight` (the social style), the first `highlight` words are drawn in the accent colour.
        """
        b = self.brand
        sx0, _, sx1, _ = self.geo.safe
        width = width or (sx1 - sx0)
        t = self.text(text, 0.042, b.color("caption_text"), int(width * 0.92) - int(self.s * 0.04), 2)
        if highlight is not None:
            hi = self.text(text, 0.042, (255, 214, 10, 255), int(width * 0.92) - int(self.s * 0.04), 2)
            if hi.size == t.size:
                t = reveal_words(t, hi, highlight, self.sb.rtl)
        return chip(t, self.color("caption_bg"), int(self.s * 0.02), int(self.s * 0.012), self.radius // 2)

    def caption_words(self, text: str, width: int | None = None) -> int:
        """How many word pieces a caption has (for the word-by-word highlight)."""
        sx0, _, sx1, _ = self.geo.safe
        width = width or (sx1 - sx0)
        t = self.text(text, 0.042, (255, 255, 255, 255), int(width * 0.92) - int(self.s * 0.04), 2)
        return sum(len(words) for _, words in text_pieces(t))

    def caption_slot(self) -> int:
        """The height kept free at the bottom of the safe zone for burned-in captions."""
        line = int(round(self.size(0.042) * self.s * 1.25))
        return 2 * line + 2 * int(self.s * 0.012) + int(self.s * 0.02)

    # -- one scene ------------------------------------------------------------------------

    def product_first(self, scene: Scene, aspect: float, extra_h: float, headroom: float,
                      target: float | None = None) -> tuple[list[Placed], "Arrangement"]:
        """Every overlay of a scene, drawn and placed where the product is not, and the product's box (see `arrange`)."""
        return lay_out_scene(self, scene, aspect, extra_h, headroom, target)


# -- product first: where the product stands and where the text goes ---------------------------

# The product's height on its hero shot, as a share of the frame height, per format shape.
HERO_MIN = {"9:16": 0.45, "4:5": 0.45, "1:1": 0.60, "16:9": 0.60}


def hero_target(width: int, height: int) -> float:
    """The least share of the frame height the product takes on its hero shot (45 % tall, 60 % square or wide)."""
    return 0.45 if height > width * 1.1 else 0.60


@dataclass
class Block:
    """A text element to place: its role, size, and the stack it belongs to ("top", "bottom", "caption")."""

    role: str
    w: int
    h: int
    group: str = "top"
    key: int = 0  # the caller's index for it


@dataclass
class Arrangement:
    """Where a scene's product and text go: the product box at rest, the zone it may move in, each block's box."""

    name: str
    product: tuple[int, int, int, int]
    zone: tuple[int, int, int, int]
    boxes: dict[int, tuple[int, int, int, int]]
    caption: tuple[int, int, int, int] | None  # where burned-in captions go (x0, y0, x1, y1: bottom-aligned in it)
    product_share: float  # product height / frame height
    text_column: tuple[int, int]  # x0, x1 of the text column


def fit_box(zone: tuple[int, int, int, int], aspect: float, headroom: float, anchor: str = "center") -> tuple[int, int, int, int]:
    """The largest box of `aspect` (w/h) inside `zone` shrunk by `headroom` (room to move), centred (or standing on its floor)."""
    x0, y0, x1, y1 = zone
    zw, zh = max(0, x1 - x0) / headroom, max(0, y1 - y0) / headroom
    if zw <= 0 or zh <= 0:
        return (x0, y0, x0, y0)
    w = min(zw, zh * aspect)
    h = w / aspect
    cx = (x0 + x1) / 2
    cy = (y0 + y1) / 2 if anchor == "center" else y1 - (y1 - y0 - h) / 2 - h / 2
    return (int(round(cx - w / 2)), int(round(cy - h / 2)), int(round(cx + w / 2)), int(round(cy + h / 2)))


def arrange(width: int, height: int, safe: tuple[int, int, int, int], aspect: float, full: list[Block], column: list[Block] | None,
            *, rtl: bool = False, caption_h: int = 0, caption_h_column: int = 0, headroom: float = 1.06, extra_h: float = 0.0,
            labels_h: int = 0, target: float | None = None, prefer: tuple[str, ...] | None = None) -> Arrangement:
    """Place the product first, then every text block where the product is not; no two boxes overlap.

    `full` are the blocks drawn for the full safe width, `column` the same blocks drawn for a side column
    (used by the side-by-side arrangement). `aspect` is the product's width over height, `extra_h` the
    share of its height the shadow adds below it. Arrangements are tried in the format's order of
    preference; the first whose product reaches `target` of the frame height wins, else the largest.
    Text never goes over the product: the product is sized into what the text leaves.
    """
    w, h = width, height
    sx0, sy0, sx1, sy1 = safe
    short = min(w, h)
    pad = max(2, int(short * 0.022))
    margin = max(pad, int(short * 0.035))
    target = hero_target(w, h) if target is None else target
    landscape = w > h * 1.2
    if prefer is None:
        # A tall frame's side column is too narrow for a title, unless the product is very slim.
        tall = ("split", "top", "side") if aspect < 0.55 else ("split", "top")
        prefer = ("side",) if landscape else (tall if h > w * 1.5 else ("split", "side", "top", "bottom"))
    top_y = sy0 + (labels_h + pad if labels_h else 0)
    sprite_aspect = aspect / (1 + extra_h)
    out: list[Arrangement] = []
    # Between text and the product: two paddings of air (text slides in by less than one).

    def stack(blocks: list[Block], y: int, x0: int, x1: int, up: bool = False) -> tuple[dict[int, tuple], int]:
        """Blocks one under another (or upwards from y), centred in [x0, x1]; price and CTA share a row when they fit."""
        boxes: dict[int, tuple] = {}
        rows: list[list[Block]] = []
        for b in blocks:
            if rows and b.role == "cta" and rows[-1][-1].role == "price" and sum(r.w for r in rows[-1]) + pad + b.w <= x1 - x0:
                rows[-1].append(b)
            else:
                rows.append([b])
        seq = list(reversed(rows)) if up else rows
        for row in seq:
            rh = max(b.h for b in row)
            ry = y - rh if up else y
            rw = sum(b.w for b in row) + pad * (len(row) - 1)
            bx = x0 + (x1 - x0 - rw) // 2
            order = list(reversed(row)) if rtl else row
            for b in order:
                boxes[b.key] = (bx, ry + (rh - b.h) // 2, bx + b.w, ry + (rh - b.h) // 2 + b.h)
                bx += b.w + pad
            y = ry - pad if up else ry + rh + pad
        return boxes, y

    def done(name, zone, boxes, caption, col) -> None:
        zx0, zy0, zx1, zy1 = zone
        if zx1 - zx0 < 8 or zy1 - zy0 < 8:
            return
        p = fit_box(zone, sprite_aspect, headroom)
        # The product box proper (without the shadow below it).
        ph = (p[3] - p[1]) / (1 + extra_h)
        prod = (p[0], p[1], p[2], int(round(p[1] + ph)))
        out.append(Arrangement(name, prod, zone, boxes, caption, (prod[3] - prod[1]) / h, col))

    top = [b for b in full if b.group == "top"]
    bottom = [b for b in full if b.group == "bottom"]
    for name in prefer:
        if name == "split":
            boxes, y_top = stack(top, top_y, sx0, sx1)
            cap = None
            y_bot = sy1
            if caption_h:
                cap = (sx0, sy1 - caption_h, sx1, sy1)
                y_bot = sy1 - caption_h - pad
            b2, y_bot = stack(bottom, y_bot, sx0, sx1, up=True)
            boxes.update(b2)
            if y_bot < y_top:
                continue
            done(name, (margin, y_top + pad, w - margin, y_bot - pad), boxes, cap, (sx0, sx1))
        elif name == "top":
            boxes, y = stack(top + bottom, top_y, sx0, sx1)
            cap = None
            if caption_h:
                cap = (sx0, y, sx1, y + caption_h)
                y += caption_h + pad
            if y > sy1:
                continue
            done(name, (margin, y + pad, w - margin, h - margin), boxes, cap, (sx0, sx1))
        elif name == "bottom":
            cap = None
            y = sy1
            if caption_h:
                cap = (sx0, sy1 - caption_h, sx1, sy1)
                y = sy1 - caption_h - pad
            boxes, y = stack(top + bottom, y, sx0, sx1, up=True)
            if y < top_y:
                continue
            done(name, (margin, max(margin, top_y if labels_h else margin), w - margin, y - pad), boxes, cap, (sx0, sx1))
        elif name == "side":
            if column is None:
                continue
            cw = column_width(w, h, safe)
            cx0, cx1 = (sx1 - cw, sx1) if not rtl else (sx0, sx0 + cw)
            # LTR reads text first: text on the left, product on the right; RTL mirrors it.
            if not rtl:
                cx0, cx1 = sx0, sx0 + cw
            else:
                cx0, cx1 = sx1 - cw, sx1
            colb = [b for b in column if b.group in ("top", "bottom")]
            total = sum(b.h for b in colb) + pad * max(0, len(colb) - 1) + (caption_h_column + pad if caption_h_column else 0)
            avail = sy1 - top_y
            if total > avail:
                continue
            y0 = top_y + max(0, (avail - total) // 2) if landscape else top_y
            boxes: dict[int, tuple] = {}
            y = y0
            for b in colb:
                bx = cx0 if not rtl else cx1 - b.w
                bx = cx0 + (cw - b.w) // 2 if not landscape else bx
                boxes[b.key] = (bx, y, bx + b.w, y + b.h)
                y += b.h + pad
            cap = (cx0, sy1 - caption_h_column, cx1, sy1) if caption_h_column else None
            zx0, zx1 = (cx1 + 2 * pad, w - margin) if not rtl else (margin, cx0 - 2 * pad)
            done(name, (zx0, margin + (labels_h + pad if labels_h and not landscape else 0), zx1, h - margin), boxes, cap, (cx0, cx1))
    if not out:
        raise _Overflow
    for a in out:
        if a.product_share >= target:
            return a
    return max(out, key=lambda a: a.product_share)


def _recolor(img: Image.Image, color) -> Image.Image:
    """A text image in another colour (its alpha kept)."""
    out = Image.new("RGBA", img.size, tuple(color[:3]) + (255,))
    out.putalpha(img.getchannel("A"))
    return out


def _star(img: Image.Image, fill) -> None:
    """A 16-point burst filling the image."""
    import math

    w, h = img.size
    cx, cy, r0, r1 = w / 2, h / 2, min(w, h) / 2 * 0.84, min(w, h) / 2
    pts = []
    for i in range(32):
        r = r1 if i % 2 == 0 else r0
        a = math.pi * i / 16
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    ImageDraw.Draw(img).polygon(pts, fill=fill)


def _runs(profile, min_gap: int) -> list[tuple[int, int]]:
    """Runs of True in a 1-D mask, merging runs separated by fewer than `min_gap` False entries."""
    runs: list[list[int]] = []
    start = None
    for i, on in enumerate(list(profile) + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if runs and start - runs[-1][1] < min_gap:
                runs[-1][1] = i
            else:
                runs.append([start, i])
            start = None
    return [(a, b) for a, b in runs]


def text_pieces(img: Image.Image) -> list[tuple[tuple[int, int], list[tuple[int, int]]]]:
    """The lines of a drawn text (y0, y1) with each line's words (x0, x1), found from the gaps in its alpha."""
    import numpy as np

    a = np.asarray(img.getchannel("A")) > 24
    lines = _runs(a.any(axis=1), 2)
    out = []
    for y0, y1 in lines:
        gap = max(3, int((y1 - y0) * 0.2))
        words = _runs(a[y0:y1].any(axis=0), gap)
        out.append(((y0, y1), words or [(0, img.width)]))
    return out


def reveal_words(base: Image.Image, hi: Image.Image, n: int, rtl: bool) -> Image.Image:
    """`base` with its first `n` words (in reading order) taken from `hi` (the highlighted drawing)."""
    out = base.copy()
    k = 0
    for (y0, y1), words in text_pieces(base):
        for x0, x1 in (reversed(words) if rtl else words):
            if k >= n:
                return out
            out.paste(hi.crop((x0, y0, x1, y1)), (x0, y0))
            k += 1
    return out


def progress_height(short: int) -> int:
    """The tutorial progress bar's thickness: it runs along the top of the safe zone, over the text column."""
    return max(2, int(round(short * 0.012 / 2)) * 2)


def column_width(width: int, height: int, safe: tuple[int, int, int, int]) -> int:
    """The width of the side text column (the side-by-side arrangement)."""
    return int((safe[2] - safe[0]) * (0.42 if width > height * 1.2 else 0.46))


TOP_ROLES = ("logo", "title", "step", "body")
BOTTOM_ROLES = ("price", "cta")


def _product_first(self: Designer, scene: Scene, aspect: float, extra_h: float, headroom: float,
                   target: float | None = None) -> tuple[list[Placed], Arrangement]:
    """Every overlay of a scene placed where the product is not, and the product's box (see `arrange`)."""
    g = self.geo
    sx0, sy0, sx1, sy1 = g.safe
    pad = int(self.s * 0.022)
    rtl = self.sb.rtl
    by_role: dict[str, list[TextOverlay]] = {}
    for o in scene.overlays:
        by_role.setdefault(o.role, []).append(o)
    placed: list[Placed] = []
    # Labels: a row at the top of the safe zone, from the reading side (below a tutorial's progress bar).
    if self.sb.kind == "tutorial":
        sy0 += progress_height(g.short) + pad
    x, y, row_h = sx0, sy0, 0
    for o in by_role.get("label", []) + by_role.get("disclosure", []):
        img = self.label_chip(o.text, o.role == "disclosure")
        if x > sx0 and x + img.width > sx1:
            x, y, row_h = sx0, y + row_h + pad, 0
        lx = sx0 + sx1 - x - img.width if rtl else x
        placed.append(Placed(o.role, [o.text], img, lx, y, o.start, o.end, fade=0.0))
        x += img.width + pad
        row_h = max(row_h, img.height)
    labels_h = (y - g.safe[1]) + row_h
    full_w = sx1 - sx0
    col_w = column_width(g.width, g.height, g.safe)
    tsize = self.style.text.title_size
    items: list[tuple[str, list[str], TextOverlay | None, dict]] = []  # role, texts, first overlay, meta
    for o in by_role.get("logo", []):
        items.append(("logo", [o.text], o, {}))
    for o in by_role.get("title", []):
        items.append(("title", [o.text], o, {}))
    for o in by_role.get("step", []):
        items.append(("step", [o.text], o, {"step": scene.step}))
    for o in by_role.get("body", []):
        items.append(("body", [o.text], o, {}))
    price = {o.role: o.text for r in PRICE_ROLES for o in by_role.get(r, [])}
    if "price" in price:
        first = min((o for r in PRICE_ROLES for o in by_role.get(r, [])), key=lambda o: o.start)
        items.append(("price", [price[r] for r in PRICE_ROLES if r in price], first, {"roles": [r for r in PRICE_ROLES if r in price]}))
    for o in by_role.get("cta", []):
        items.append(("cta", [o.text], o, {}))

    def draw(role: str, o: TextOverlay, width: int, narrow: bool) -> Image.Image:
        if role == "logo":
            return self.wordmark(o.text, width)
        if role == "title":
            return self.title(o.text, width, False, size=tsize * (0.85 if narrow else 1.0))
        if role == "step":
            return self.step(scene.step or 1, o.text, width)
        if role == "body":
            return self.body(o.text, width)
        if role == "price":
            return self.price_badge(price, width)
        return self.cta(o.text, width)

    try:
        full_imgs = [draw(r, o, full_w, False) for r, _, o, _ in items]
    except RenderError as exc:
        if "too long" not in str(exc):
            raise
        raise _Overflow from exc
    landscape = g.width > g.height * 1.2
    k = self.k
    try:
        # A wide frame's side column has room for larger type than a tall frame's.
        self.k = k * (1.3 if landscape else 1.0)
        col_imgs: list[Image.Image] | None = [draw(r, o, col_w, True) for r, _, o, _ in items]
    except RenderError as exc:
        if "too long" not in str(exc):
            raise
        col_imgs = None  # the text does not fit a side column: only the stacked arrangements are tried
    finally:
        self.k = k
    group = ["bottom" if r in BOTTOM_ROLES else "top" for r, *_ in items]
    full = [Block(r, im.width, im.height, grp, i) for i, ((r, *_), im, grp) in enumerate(zip(items, full_imgs, group))]
    column = [Block(r, im.width, im.height, grp, i) for i, ((r, *_), im, grp) in enumerate(zip(items, col_imgs or [], group))]
    cap_h = self.caption_slot() if self.sb.burn_captions else 0
    arr = arrange(g.width, g.height, g.safe, aspect, full, column if col_imgs is not None else None, rtl=rtl, caption_h=cap_h,
                  caption_h_column=cap_h, headroom=headroom, extra_h=extra_h, labels_h=labels_h, target=target)
    imgs = col_imgs if arr.name == "side" else full_imgs
    for i, (role, texts, o, meta) in enumerate(items):
        x0, y0, _, _ = arr.boxes[i]
        img = imgs[i]
        meta = dict(meta)
        if role in ("title", "logo") and self.style.text.animate in ("line", "word"):
            meta["reveal"] = reveal_plan(img, self.style.text.animate, rtl)
        meta["rise"] = int(self.s * 0.025) if self.style.text.animate != "fade" else 0
        fade = 0.35 if self.style.text.animate == "fade" else 0.22
        placed.append(Placed(role, texts, img, x0, y0, o.start if o else 0.0, o.end if o else None, fade=fade, meta=meta))
    return placed, arr


def reveal_plan(img: Image.Image, mode: str, rtl: bool, step: float = 0.09) -> list[tuple[tuple[int, int, int, int], float]]:
    """The pieces (boxes inside the image) a text comes in by, each with its delay: by line, or by word."""
    pieces = []
    k = 0
    for (y0, y1), words in text_pieces(img):
        if mode == "line":
            pieces.append(((0, y0, img.width, y1), k * step * 1.6))
            k += 1
            continue
        for x0, x1 in (reversed(words) if rtl else words):
            pieces.append(((x0, y0, x1, y1), k * step))
            k += 1
    if len(pieces) <= 1 or len(pieces) > 24:
        return []
    return pieces


def lay_out_scene(self: Designer, scene: Scene, aspect: float, extra_h: float, headroom: float,
                  target: float | None = None) -> tuple[list[Placed], Arrangement]:
    """The scene laid out product first; crowded text is drawn smaller (never over the product).

    Text never wins over the product: when the text leaves the product less than half its hero size
    (or less than 60 % of what an empty frame would give a very wide or tall one), the text is drawn
    smaller and laid out again; the largest product seen is kept.
    """
    w, h = self.sb.width, self.sb.height
    headroom *= float(self.sb.metadata.repairs.air or 1.0)  # a LAYOUT-1/-2 repair: more room around the product
    m = max(2, int(self.s * 0.035))
    empty = fit_box((m, m, w - m, h - m), aspect / (1 + extra_h), headroom)
    possible = (empty[3] - empty[1]) / (1 + extra_h) / h
    floor_share = min(0.5 * (target or hero_target(w, h)), 0.6 * possible)
    scale, floor = self.scale, self.floor
    scales = [scale] + ([round((scale + 1.0) / 2, 3), 1.0] if scale > 1.0 else [])
    tries = [(sc, k, True) for sc in scales for k in (1.0, 0.85, 0.72, 0.6)] + [(1.0, 0.6, False), (1.0, 0.5, False)]
    best: tuple[list[Placed], Arrangement] | None = None
    try:
        for sc, k, use_floor in tries:
            self.scale, self.k, self.floor = sc, k, floor and use_floor
            try:
                placed, arr = _product_first(self, scene, aspect, extra_h, headroom, target)
            except _Overflow:
                continue
            if arr.product_share >= floor_share:
                return placed, arr
            if best is None or arr.product_share > best[1].product_share + 0.02:
                best = (placed, arr)
    finally:
        self.scale, self.k, self.floor = scale, 1.0, floor
    if best is not None:
        return best
    raise RenderError(f"the text of a scene does not fit beside the product in the {self.sb.format} safe zone of {self.sb.destination}",
                      product=self.sb.product_handle, market=self.sb.market, where="layout")

