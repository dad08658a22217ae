"""The compose renderer: a Storyboard in, a delivery MP4 with captions, poster and metadata out.

The hot path works like a video editor's: per scene the photo card is prepared once as Y'CbCr
planes at a modest oversize, every overlay is drawn once at output resolution, and each frame is
then one float-positioned resample of the card (no 1-pixel jitter), a few alpha blends inside
the overlays' own boxes, and raw yuv420p bytes streamed into libx264 (by vmsplice: FFmpeg reads
the frame's own pages). Recycled frame buffers get back only the boxes drawn over them. Frames
are built a few ahead while FFmpeg encodes (by a thread pool when a core is free of x264), and
never held in a list; voice, music, loudness and AAC run in a thread beside them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import queue
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from productreel import atomic
from productreel.errors import InputError
from productreel.models import RenderedClip, Scene, Storyboard, TextOverlay

from clips.layout import Arrangement, Designer, Placed, progress_height
from clips.planes import Frame, Layer, Source, Sprite, cv2, even, rgb_to_planes
from clips.profiles import BrandKit, load_brand
from clips.stage import SHADOW_DEPTH, backdrop, palette, product_sprite
from clips.styles import load_style

if TYPE_CHECKING:
    from clips.voices import VoicePick

RENDERER_VERSION = "compose-5"
OVERSIZE = 1.12  # the card source is this much larger than the card: zooms never upsample
ZOOM = 1.10  # how far a zoom travels
PAN = 1.06  # the window size of a pan, relative to the source
TRANSITION = 0.4  # seconds


# -- motion ------------------------------------------------------------------------------------


def ease(q: float) -> float:
    """Gentle ease-in-out that never stops moving (strictly increasing), so a zoom never stalls."""
    q = min(1.0, max(0.0, q))
    return 0.7 * q + 0.3 * (0.5 - 0.5 * math.cos(math.pi * q))


def view_box(motion: str, q: float, sw: float, sh: float) -> tuple[float, float, float, float]:
    """The window (x0, y0, x1, y1) of the source shown at progress q, in float source pixels."""
    e = ease(q)
    if motion in ("zoom_in", "zoom_out"):
        z = 1 + (ZOOM - 1) * (e if motion == "zoom_in" else 1 - e)
        w, h = sw / z, sh / z
        return ((sw - w) / 2, (sh - h) / 2, (sw + w) / 2, (sh + h) / 2)
    if motion in ("pan_left", "pan_right"):
        w, h = sw / PAN, sh / PAN
        f = e if motion == "pan_right" else 1 - e
        x0 = (sw - w) * f
        return (x0, (sh - h) / 2, x0 + w, (sh + h) / 2)
    w, h = sw / OVERSIZE * 1.0, sh / OVERSIZE * 1.0
    return ((sw - w) / 2, (sh - h) / 2, (sw + w) / 2, (sh + h) / 2)


# -- scenes --------------------------------------------------------------------------------------


def _open_image(path: Path, sb: Storyboard) -> Image.Image:
    try:
        img = Image.open(path)
        img = ImageOps.exif_transpose(img)
        img.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read image {path}: {exc}", product=sb.product_handle, market=sb.market, where="compose") from exc
    return img.convert("RGBA")


def _edge_color(img: Image.Image) -> tuple[int, int, int]:
    """The photo's border color (a packshot's backdrop), used to fill around a contained photo."""
    arr = np.asarray(img)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    opaque = border[border[:, 3] > 200]
    if len(opaque) < len(border) * 0.5:
        return None  # type: ignore[return-value]
    return tuple(int(v) for v in np.median(opaque[:, :3], axis=0))  # type: ignore[return-value]


def _gradient(size: tuple[int, int], top, bottom) -> Image.Image:
    w, h = size
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    a, b = np.array(top[:3], np.float32), np.array(bottom[:3], np.float32)
    col = (a * (1 - t) + b * t)
    return Image.fromarray(np.repeat(col[:, None, :], w, axis=1).astype(np.uint8), "RGB")


def card_source(img: Image.Image, crop, size: tuple[int, int], brand: BrandKit) -> Image.Image:
    """The card's picture at OVERSIZE: the photo cropped (close-up), fitted and set on its backdrop."""
    if crop:
        x0, y0, x1, y1 = crop
        W, H = img.size
        box = (int(x0 * W), int(y0 * H), max(int(x0 * W) + 2, int(x1 * W)), max(int(y0 * H) + 2, int(y1 * H)))
        img = img.crop(box)
    sw, sh = even(size[0] * OVERSIZE), even(size[1] * OVERSIZE)
    edge = _edge_color(img)
    iw, ih = img.size
    cover = max(sw / iw, sh / ih)
    contain = min(sw / iw, sh / ih)
    # A photo close to the card's shape fills it; a transparent or very different one sits on a backdrop.
    transparent = edge is None
    if not transparent and cover / contain < 1.3:
        scale = cover
        bg = Image.new("RGBA", (sw, sh), (0, 0, 0, 255))
    else:
        scale = contain * (0.86 if transparent else 1.0)
        if transparent:
            bg = _gradient((sw, sh), brand.color("background2"), brand.color("background")).convert("RGBA")
        else:
            bg = Image.new("RGBA", (sw, sh), edge + (255,))
    nw, nh = max(2, round(iw * scale)), max(2, round(ih * scale))
    if cv2 is not None and nw < iw and img.getchannel("A").getextrema() == (255, 255):
        # Opaque photo: area averaging is as good as Lanczos for a downscale and far cheaper
        # (transparent ones stay with Pillow, which resamples premultiplied, without dark fringes).
        arr = np.asarray(img)
        photo = Image.fromarray(cv2.resize(arr, (nw, nh), interpolation=cv2.INTER_AREA), "RGBA")
    else:
        photo = img.resize((nw, nh), Image.LANCZOS, reducing_gap=3.0)
    bg.alpha_composite(photo, ((sw - nw) // 2, (sh - nh) // 2))
    return bg.convert("RGB")


@dataclass
class TimedLayer:
    """A placed overlay converted to planes, with absolute times (seconds)."""

    placed: Placed
    layer: Layer
    start: float
    end: float
    fade: float
    rise: int = 0  # pixels it slides up from while it fades in

    def opacity(self, t: float) -> float:
        """0 before it starts or after it ends, ramping to 1 over its fade."""
        if t < self.start or t >= self.end:
            return 0.0
        if self.fade <= 0:
            return 1.0
        return min(1.0, (t - self.start) / self.fade)

    def offset(self, a: float) -> int:
        """How far below its place it is drawn at opacity a (an ease-out slide, in even pixels)."""
        if not self.rise or a >= 1.0:
            return 0
        return int(self.rise * (1 - a) ** 2) & ~1


def _intersects(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ease_out(q: float) -> float:
    q = min(1.0, max(0.0, q))
    return 1 - (1 - q) ** 3


SCALE_IN = 0.7  # seconds the product takes to grow to its size


class SceneRender:
    """One scene, prepared once: its stage (backdrop with text baked in, the product sprite) or its photo card."""

    def __init__(self, r: "Renderer", index: int, scene: Scene, start: float) -> None:
        self.r = r
        self.index = index
        self.scene = scene
        self.start = start
        self.end = start + scene.duration
        self.vis_start = start
        self.vis_end = self.end
        self.layers: list[TimedLayer] = []
        self.reports: list[tuple[Placed, float, float]] = []  # whole overlays, for the sidecar
        self.source: Source | None = None
        self.sprite: Sprite | None = None
        self.background: Frame | None = None
        self.card = r.geo.card
        self.arrangement: Arrangement | None = None
        self.cut = None
        self.pal = None
        self._rest = (0.0, 0.0, 1.0)  # the sprite's top-left and scale at rest
        self._composed: tuple | None = None  # the last product box drawn: (key, box, planes)
        self._lock = threading.Lock()
        self._ready = False
        self._frames = None
        self._bases: dict[tuple, Frame] = {}
        shot = scene.shot
        # A product photo stands on a stage; a generated shot or a colour card keeps the photo-card path.
        self.staged = shot.kind == "image" and shot.image is not None
        if self.staged:
            self.cut = r.cutout(Path(shot.image))

    @property
    def caption_box(self) -> tuple[int, int, int, int] | None:
        """Where this scene puts burned-in captions (None: the bottom of the safe zone)."""
        return self.arrangement.caption if self.arrangement is not None else None

    def prepare_overlays(self) -> None:
        """Place the product and draw the scene's overlays where it is not; labels go to the clip-level list."""
        r = self.r
        style = r.style
        if self.staged:
            cut = self.cut
            self.pal = palette(style, r.brand, cut if cut.kind in ("alpha", "studio") else None)
            if cut.kind in ("alpha", "studio"):
                aspect, extra = cut.aspect, SHADOW_DEPTH * 0.75
            else:
                # A photo card is cropped around its salient box to the frame's own shape.
                w, h = r.sb.width, r.sb.height
                aspect, extra = (0.8 if h > w * 1.1 else 1.3 if w > h * 1.2 else 1.0), 0.04
                # Its backdrop is the photo itself, blurred and dimmed: text on it is white.
                self.pal = replace(self.pal, ink=(255, 255, 255))
        else:
            self.pal = palette(style, r.brand, None)
            aspect, extra = 1.0, 0.0
        r.designer.ink = self.pal.block_ink if style.backdrop == "block" else self.pal.ink
        headroom = 1.0 + 2 * style.product.drift
        end_card = any(o.role == "cta" for o in self.scene.overlays) and r.sb.kind == "ad"
        placed, arr = r.designer.product_first(self.scene, aspect, extra, headroom)
        self.arrangement = arr
        if not self.staged:
            x0, y0, x1, y1 = arr.product
            self.card = (even(x0), even(y0), max(even(x0) + 2, even(x1)), max(even(y0) + 2, even(y1)))
        self.end_card = end_card
        for p in placed:
            if p.role in ("label", "disclosure"):
                r.add_global(p, self.start, self.end)
                continue
            end = self.end if p.end is None else min(self.end, self.start + p.end)
            start = self.start + p.start
            self.reports.append((p, start, end))
            pieces = p.meta.get("reveal") or []
            rise = int(p.meta.get("rise", 0))
            if pieces:
                for (bx0, by0, bx1, by1), delay in pieces:
                    img = p.image.crop((bx0, by0, bx1, by1))
                    self.layers.append(TimedLayer(p, Layer.from_rgba(img, p.x + bx0, p.y + by0), start + delay, end, p.fade, rise))
            else:
                self.layers.append(TimedLayer(p, Layer.from_rgba(p.image, p.x, p.y), start, end, p.fade, rise))

    def _blocks(self) -> list[tuple[int, int, int, int]]:
        """Colour blocks behind the text stacks (the sale style): full-width bands around each stack."""
        r, arr = self.r, self.arrangement
        if r.style.backdrop != "block" or arr is None:
            return []
        pad = int(r.geo.short * 0.03)
        px0, py0, px1, py1 = arr.product
        boxes = [p.box for p, _, _ in self.reports]
        if arr.caption:
            boxes.append(arr.caption)
        if not boxes:
            return []
        if arr.name == "side":
            x0 = min(b[0] for b in boxes) - pad
            x1 = max(b[2] for b in boxes) + pad
            return [(max(0, x0), 0, min(r.sb.width, x1), r.sb.height)]
        above = [b for b in boxes if b[3] <= py0]
        below = [b for b in boxes if b[1] >= py1]
        out = []
        if above:
            out.append((0, 0, r.sb.width, min(py0 - pad // 2, max(b[3] for b in above) + pad)))
        if below:
            out.append((0, max(py1 + pad // 2, min(b[1] for b in below) - pad), r.sb.width, r.sb.height))
        return out

    def prepare(self) -> None:
        """Build the stage (or load and fit the photo) lazily, once, by whichever thread first needs it."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            r, sc = self.r, self.scene
            x0, y0, x1, y1 = self.card
            cw, ch = x1 - x0, y1 - y0
            if self.staged:
                self._prepare_stage()
            elif sc.shot.kind == "generated" and sc.shot.video:
                from clips.diffusion import fit_frames  # the diffusion room owns this; import only when used

                self._frames = fit_frames(Path(sc.shot.video), cw, ch, r.sb.fps, sc.duration)
            elif sc.shot.kind == "color" or sc.shot.image is None:
                self.source = Source(Image.new("RGB", (even(cw * OVERSIZE), even(ch * OVERSIZE)), r.brand.color("background2")[:3]))
            else:
                img = _open_image(Path(sc.shot.image), r.sb)
                self.source = Source(card_source(img, sc.shot.crop, (cw, ch), r.brand))
            if self.background is None:
                self.background = r.background
            self._ready = True

    def _prepare_stage(self) -> None:
        r, cut, arr = self.r, self.cut, self.arrangement
        px0, py0, px1, py1 = arr.product
        photo = None
        if cut.kind not in ("alpha", "studio"):
            photo = _open_image(Path(cut.image), r.sb) if cut.width else None
        bg = backdrop(r.style, self.pal, (r.sb.width, r.sb.height), arr.product, self._blocks(), photo=photo)
        self.background = Frame.from_rgb(bg)
        crop = self.scene.shot.crop if cut.kind not in ("alpha", "studio") else None
        if cut.width:
            img, fb = product_sprite(cut, (px1 - px0, py1 - py0), r.style, r.designer.radius, crop)
        else:  # an unreadable photo: an empty card keeps the layout (the input gate reports it)
            img = Image.new("RGBA", (max(2, px1 - px0), max(2, py1 - py0)), tuple(self.pal.floor) + (255,))
            fb = (0.0, 0.0, 1.0, 1.0)
        self.sprite = Sprite(img)
        W, H = self.sprite.width, self.sprite.height
        fw = (fb[2] - fb[0]) * img.width
        scale = (px1 - px0) / max(1e-6, fw)
        self._rest = (px0 - fb[0] * img.width * scale, py0 - fb[1] * img.height * scale, scale)
        self._anchor = ((px0 + px1) / 2, py1)  # the product grows from where it stands

    def release(self) -> None:
        """Drop the scene's pictures once it has played (a 90 s tutorial keeps only a few in memory)."""
        with self._lock:
            self._bases = {}
            self.source = None
            self.sprite = None
            self._composed = None
            if self.staged:
                self.background = None
            self._frames = None
            self._ready = False

    def _base(self, t: float) -> tuple[Frame, list[tuple[TimedLayer, float]]]:
        """The background with every fully shown overlay off the card baked in, plus what is left to draw."""
        baked, todo = [], []
        for i, tl in enumerate(self.layers):
            a = tl.opacity(t)
            if a <= 0:
                continue
            # On a stage text never touches the product, so every fully shown overlay is baked.
            if a >= 1 and (self.staged or not _intersects(tl.layer.box, self.card)):
                baked.append(i)
            else:
                todo.append((tl, a))
        key = tuple(baked)
        base = self._bases.get(key)
        if base is None:
            base = Frame(self.r.sb.width, self.r.sb.height)
            base.copy_from(self.background)
            for i in baked:
                self.layers[i].layer.paste_on(base)
            with self._lock:
                if len(self._bases) > 8:  # states only grow as overlays appear; old ones are done
                    self._bases.pop(next(iter(self._bases)))
                self._bases[key] = base
        return base, todo

    def product_at(self, t: float) -> tuple[float, float, float]:
        """The sprite's top-left (x, y) and scale at absolute time t: scale-in, then a slow parallax drift."""
        x, y, s = self._rest
        style = self.r.style.product
        local = t - self.vis_start
        q = (t - self.vis_start) / max(1e-6, self.vis_end - self.vis_start)
        grow = style.scale_in + (1 - style.scale_in) * _ease_out(local / SCALE_IN)
        motion = self.scene.shot.motion
        ax, ay = self._anchor
        pw = (self.arrangement.product[2] - self.arrangement.product[0])
        e = ease(q)
        dx, push = 0.0, 1.0
        # Parallax against the still backdrop: a slow slide, or a slow push towards the viewer (or away),
        # inside the room the layout left around the product (never onto the text).
        if motion == "pan_right":
            dx = style.drift * pw * (2 * e - 1)
        elif motion == "pan_left":
            dx = -style.drift * pw * (2 * e - 1)
        elif motion == "zoom_in":
            push = 1 + 0.8 * style.drift * e
        elif motion == "zoom_out":
            push = 1 + 0.8 * style.drift * (1 - e)
        k = grow * push
        # Scale about the product's foot, so it grows out of its shadow.
        return (ax + (x - ax) * k + dx, ay + (y - ay) * k, s * k)

    def _draw_product(self, out: Frame, base: Frame, t: float) -> None:
        """The product at time t. Once it has grown in, its slow drift moves well under a tenth of a pixel a
        frame, so it is placed ten times a second and the composed box reused in between (a third of the work)."""
        local = t - self.vis_start
        if local > SCALE_IN + 0.1:
            t = self.vis_start + SCALE_IN + 0.1 + math.floor((local - SCALE_IN - 0.1) * 10) / 10
        x, y, s = self.product_at(t)
        key = (id(base), round(x, 3), round(y, 3), round(s, 5))
        hit = self._composed
        if hit is not None and hit[0] == key:
            _, box, planes = hit
            x0, y0, x1, y1 = box
            out.mark(box)
            out.y[y0:y1, x0:x1] = planes[0]
            out.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = planes[1]
            out.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = planes[2]
            return
        self.sprite.draw(out, x, y, s)
        x0, y0, x1, y1 = self.sprite.box_at(x, y, s)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(out.width, x1), min(out.height, y1)
        box = (x0, y0, x1, y1)
        self._composed = (key, box, (out.y[y0:y1, x0:x1].copy(), out.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2].copy(),
                                     out.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2].copy()))

    def render_into(self, out: Frame, t: float) -> None:
        """Draw the scene at absolute time t into `out`: background, product (or card), then its overlays."""
        self.prepare()
        r = self.r
        base, todo = self._base(t)
        if self.staged:
            out.reset_to(base, hole=(0, 0, 0, 0))
            self._draw_product(out, base, t)
        else:
            out.reset_to(base, hole=self.card)  # the card covers its box whole: no need to copy under it
            x0, y0, x1, y1 = self.card
            if self._frames is not None:
                i = min(len(self._frames) - 1, max(0, int(round((t - self.start) * r.sb.fps))))
                fr = self._frames[i]
                if fr.shape[0] != y1 - y0 or fr.shape[1] != x1 - x0:
                    fr = cv2.resize(fr, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
                out.y[y0:y1, x0:x1], out.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2], out.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = (
                    rgb_to_planes(fr))
            else:
                sw, sh = self.source.width, self.source.height
                motion = self.scene.shot.motion
                q = 0.0 if motion == "none" else (t - self.vis_start) / max(1e-6, self.vis_end - self.vis_start)
                # Float window, sub-pixel sampling: the card moves smoothly, never in whole-pixel steps.
                self.source.sample(out, self.card, view_box(motion, q, sw, sh))
        for tl, a in todo:
            tl.layer.paste_on(out, a, tl.offset(a))


# -- the clip ------------------------------------------------------------------------------------


class Renderer:
    """Builds the frames of one storyboard, in order, on demand."""

    def __init__(self, sb: Storyboard, *, early_start: bool = False) -> None:
        if not sb.scenes:
            raise InputError("storyboard has no scenes", product=sb.product_handle, market=sb.market, where="compose")
        if sb.width % 2 or sb.height % 2:
            raise InputError(f"frame size {sb.width}x{sb.height} must be even for yuv420p", product=sb.product_handle, where="compose")
        self.sb = sb
        self.brand = load_brand(sb.brand)
        self.style = load_style(sb.metadata.style or "studio")
        self.designer = Designer(sb, self.brand)
        self.geo = self.designer.geo
        self.n_frames = max(1, int(round(sb.duration * sb.fps)))
        self.globals: list[TimedLayer] = []
        self._local = threading.local()
        self._free: queue.SimpleQueue[Frame] = queue.SimpleQueue()
        self._released = 0  # scenes before this index have played and been released
        self._gc_lock = threading.Lock()
        self._build_background()
        self.scenes: list[SceneRender] = []
        t = 0.0
        for i, sc in enumerate(sb.scenes):
            self.scenes.append(SceneRender(self, i, sc, t))
            t += sc.duration
        # Transitions overlap the boundary symmetrically, so the clip length is the scenes' sum.
        self.trans: list[float] = [0.0]
        for i in range(1, len(self.scenes)):
            kind = sb.scenes[i].transition
            d = 0.0 if kind == "cut" else min(TRANSITION, 0.4 * sb.scenes[i].duration, 0.4 * sb.scenes[i - 1].duration)
            self.trans.append(d)
            self.scenes[i].vis_start -= d / 2
            self.scenes[i - 1].vis_end += d / 2
        self.set_captions(sb.captions)
        for i, s in enumerate(self.scenes):
            s.prepare_overlays()
            if i == 0 and early_start:
                # The first stage is built while the other overlays are drawn and the voice speaks (a
                # failure there is raised again when the first frame asks for it).
                threading.Thread(target=_quietly, args=(s.prepare,), name="first-scene", daemon=True).start()
        self._merge_globals()
        # The bar's fill is the dark text color: OCR may read a short bar as "_", and then it must pass contrast too.
        self._progress_colors = (_yuv(self.brand.color("background2")), _yuv(self.brand.color("primary")))

    # background, card corners, globals --------------------------------------------------------

    def cutout(self, image: Path):
        """The product's cutout in one of the storyboard's photos (from the storyboard, else found now; cached)."""
        cut = self.sb.metadata.cutout_for(image)
        if cut is None:
            from clips.cutout import cutout

            cut = cutout(image)
        return cut

    def _build_background(self) -> None:
        # The plain brand background behind photo cards (generated shots, colour cards); product photos get a stage.
        self.background = _background(self.brand, self.sb.width, self.sb.height)

    def add_global(self, p: Placed, start: float, end: float) -> None:
        """Register a clip-level overlay (labels, logo): drawn above transitions, never sliding."""
        s = start + p.start
        e = end if p.end is None else min(end, start + p.end)
        self.globals.append(TimedLayer(p, Layer.from_rgba(p.image, p.x, p.y), s, e, 0.0))

    def _merge_globals(self) -> None:
        merged: list[TimedLayer] = []
        for tl in sorted(self.globals, key=lambda x: x.start):
            prev = next((m for m in merged if m.placed.role == tl.placed.role and m.placed.texts == tl.placed.texts
                         and m.placed.box == tl.placed.box and abs(m.end - tl.start) < 1e-6), None)
            if prev is not None:
                prev.end = tl.end
            else:
                merged.append(tl)
        self.globals = merged

    def set_captions(self, cues: list) -> None:
        """Burn in these cues (known once the voice has spoken); each is drawn when first shown."""
        self.sb = self.sb.model_copy(update={"captions": list(cues)})
        self._cues = list(cues) if self.sb.burn_captions else []
        self._caption_layers: dict[tuple[int, int, int], TimedLayer] = {}
        self._caption_words: dict[tuple[int, int], int] = {}
        self._caption_lock = threading.Lock()

    @property
    def captions(self) -> list[TimedLayer]:
        """Every burned-in caption as a layer, once per scene it is shown in (drawn now where not yet shown)."""
        out = []
        for i, c in enumerate(self._cues):
            for s in self.scenes:
                if c.start < s.end and s.start < c.end:
                    tl = self._caption(i, s.index)
                    out.append(TimedLayer(tl.placed, tl.layer, max(c.start, s.start), min(c.end, s.end), 0.0))
        return out

    def _caption_place(self, scene: int) -> tuple[int, int, int]:
        """x0, x1 and bottom of the caption area in a scene (the layout's caption slot, else the safe zone's foot)."""
        box = self.scenes[scene].caption_box if 0 <= scene < len(self.scenes) else None
        if box is not None:
            return box[0], box[2], box[3]
        sx0, _, sx1, sy1 = self.geo.safe
        return sx0, sx1, sy1 - (int(self.geo.short * 0.03) if self.geo.width > self.geo.height * 1.2 else 0)

    def _caption_state(self, i: int, scene: int, t: float) -> int:
        """How many words of cue i are highlighted at time t (the social style); 0 without a highlight."""
        if self.style.captions != "highlight":
            return 0
        key = (i, scene)
        n = self._caption_words.get(key)
        if n is None:
            x0, x1, _ = self._caption_place(scene)
            n = self._caption_words[key] = max(1, self.designer.caption_words(self._cues[i].text, x1 - x0))
        c = self._cues[i]
        return min(n, 1 + int((t - c.start) / max(1e-3, c.end - c.start) * n))

    def _caption(self, i: int, scene: int = -1, state: int = 0) -> TimedLayer:
        key = (i, scene, state)
        tl = self._caption_layers.get(key)
        if tl is None:
            with self._caption_lock:
                tl = self._caption_layers.get(key)
                if tl is None:
                    c = self._cues[i]
                    x0, x1, bottom = self._caption_place(scene)
                    img = self.designer.caption(c.text, x1 - x0, highlight=state if state else None)
                    p = Placed("caption", [c.text], img, x0 + (x1 - x0 - img.width) // 2, bottom - img.height, 0.0, None, fade=0.0)
                    tl = self._caption_layers[key] = TimedLayer(p, Layer.from_rgba(img, p.x, p.y), c.start, c.end, 0.0)
        return tl

    def _progress(self, frame: Frame, t: float, scene: int) -> None:
        """The tutorial's progress bar along the top of the safe zone, over the text column (never over the product)."""
        sx0, sy0, sx1, _ = self.geo.safe
        arr = self.scenes[scene].arrangement
        if arr is not None:
            sx0, sx1 = arr.text_column
        h = progress_height(self.geo.short)
        y = even(sy0)
        x0, x1 = even(sx0), even(sx1)
        fill = x0 + even((x1 - x0) * min(1.0, t / self.sb.duration))
        frame.mark((x0, y, x1, y + h))
        for (cy, cu, cv), a, b in ((self._progress_colors[0], fill, x1), (self._progress_colors[1], x0, fill)):
            if b > a:
                frame.y[y : y + h, a:b] = cy
                frame.u[y // 2 : (y + h) // 2, a // 2 : b // 2] = cu
                frame.v[y // 2 : (y + h) // 2, a // 2 : b // 2] = cv

    # frames -----------------------------------------------------------------------------------

    def acquire(self) -> Frame:
        """A frame buffer from the pool (recycled, so pages are not faulted in again each frame)."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return Frame(self.sb.width, self.sb.height)

    def release(self, frame: Frame) -> None:
        """Give a written frame's buffer back to the pool."""
        self._free.put(frame)

    def _scratch(self) -> Frame:
        f = getattr(self._local, "scratch", None)
        if f is None:
            f = self._local.scratch = Frame(self.sb.width, self.sb.height)
        return f

    def frame(self, n: int, out: Frame | None = None) -> Frame:
        """Frame number n of the clip (drawn into `out` when given)."""
        out = out or self.acquire()
        t = n / self.sb.fps
        i = 0
        while i + 1 < len(self.scenes) and t >= self.scenes[i + 1].start:
            i += 1
        # Frames are made in order, a few ahead: scenes that ended well before this one can go.
        done = t - 12 / self.sb.fps
        with self._gc_lock:
            while self._released < i and self.scenes[self._released].vis_end < done:
                self.scenes[self._released].release()
                self._released += 1
        cur = self.scenes[i]
        if i + 1 < len(self.scenes) and t >= cur.end - self.trans[i + 1] / 2:
            a_sc, b_sc, d = cur, self.scenes[i + 1], self.trans[i + 1]
        elif i > 0 and t < cur.start + self.trans[i] / 2:
            a_sc, b_sc, d = self.scenes[i - 1], cur, self.trans[i]
        else:
            a_sc = b_sc = None
            d = 0.0
        if a_sc is None or d <= 0:
            cur.render_into(out, t)
        else:
            alpha = (t - (b_sc.start - d / 2)) / d
            other = self._scratch()
            a_sc.render_into(out, t)
            b_sc.render_into(other, t)
            _transition(out, other, alpha, b_sc.scene.transition)
        for tl in self.globals:
            a = tl.opacity(t)
            if a > 0:
                tl.layer.paste_on(out, a)
        if self.sb.kind == "tutorial":
            self._progress(out, t, i)
        for k, c in enumerate(self._cues):
            if c.start <= t < c.end:
                self._caption(k, i, self._caption_state(k, i, t)).layer.paste_on(out)
        return out

    def overlay_boxes(self) -> list[dict]:
        """Every text box with its absolute times (for compliance and the review page)."""
        out = []
        for p, start, end in [r for s in self.scenes for r in s.reports]:
            meta = {k: v for k, v in p.meta.items() if k not in ("reveal", "rise")}
            out.append({"role": p.role, "texts": p.texts, "box": list(p.box), "start": round(start, 3), "end": round(end, 3), **meta})
        for tl in self.globals + self.captions:
            p = tl.placed
            out.append({"role": p.role, "texts": p.texts, "box": list(tl.layer.box), "start": round(tl.start, 3),
                        "end": round(tl.end, 3), **p.meta})
        return out

    def product_boxes(self) -> list[dict]:
        """Where the product stands in each scene (at rest) and the zone it moves in, for compliance and the review page."""
        out = []
        for s in self.scenes:
            a = s.arrangement
            if a is None:
                continue
            out.append({"scene": s.index, "start": round(s.start, 3), "end": round(s.end, 3), "box": list(a.product),
                        "zone": list(a.zone), "arrangement": a.name, "share": round(a.product_share, 3),
                        "kind": s.cut.kind if s.cut is not None else "card"})
        return out


_BACKGROUNDS: dict[tuple, Frame] = {}
_BACKGROUNDS_LOCK = threading.Lock()


def _background(brand: BrandKit, width: int, height: int) -> Frame:
    """The brand gradient behind photo cards (generated shots, colour cards), made once per brand and size
    in a process: a nightly batch renders thousands of clips in the same few."""
    key = (brand.model_dump_json(), width, height)
    with _BACKGROUNDS_LOCK:
        hit = _BACKGROUNDS.get(key)
    if hit is not None:
        return hit
    out = Frame.from_rgb(_gradient((width, height), brand.color("background"), brand.color("background2")))
    with _BACKGROUNDS_LOCK:
        if len(_BACKGROUNDS) > 16:
            _BACKGROUNDS.pop(next(iter(_BACKGROUNDS)))
        _BACKGROUNDS[key] = out
    return out


def _yuv(color) -> tuple[int, int, int]:
    y, u, v = rgb_to_planes(np.array([[color[:3]] * 2] * 2, np.uint8))
    return int(y[0, 0]), int(u[0, 0]), int(v[0, 0])


def _transition(a: Frame, b: Frame, alpha: float, kind: str) -> None:
    """Blend frame b into frame a in place: a crossfade, or a push from the right ("slide")."""
    alpha = min(1.0, max(0.0, alpha))
    a.forget()
    if kind == "slide":
        w = a.width
        dx = even(w * ease(alpha))
        if dx <= 0:
            return
        if dx >= w:
            a.copy_from(b)
            return
        for pa, pb, d in ((a.y, b.y, dx), (a.u, b.u, dx // 2), (a.v, b.v, dx // 2)):
            ww = pa.shape[1]
            pa[:, : ww - d] = pa[:, d:].copy()
            pa[:, ww - d :] = pb[:, :d]
        return
    if cv2 is not None:
        cv2.addWeighted(a.buf, 1.0 - alpha, b.buf, alpha, 0.0, dst=a.buf)
    else:
        a.buf[:] = (a.buf * (1.0 - alpha) + b.buf * alpha + 0.5).astype(np.uint8)


def iter_frames(renderer: Renderer, workers: int | None = None, ahead: int = 3):
    """Yield frames in order, built up to `ahead` frames in advance by a thread pool.

    The consumer hands each frame back with renderer.release(frame) once it has been written.
    """
    # x264 keeps every core busy; a second frame thread only pays off when a core is left over
    # (on 2 cores it added ~0.15 CPU-s of contention to a 15 s ad and no speed).
    workers = workers if workers is not None else max(1, min(2, (os.cpu_count() or 1) - 1))
    if workers <= 1:
        for n in range(renderer.n_frames):
            yield renderer.frame(n)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="frame") as pool:
        pending: deque = deque()
        nxt = 0
        try:
            while nxt < renderer.n_frames and len(pending) < ahead:
                pending.append(pool.submit(renderer.frame, nxt))
                nxt += 1
            while pending:
                frame = pending.popleft().result()
                if nxt < renderer.n_frames:
                    pending.append(pool.submit(renderer.frame, nxt))
                    nxt += 1
                yield frame
        finally:
            for fut in pending:
                fut.cancel()


# -- render --------------------------------------------------------------------------------------


def clip_paths(sb: Storyboard, out_dir: Path) -> dict[str, Path]:
    """Where a storyboard's files go: <out>/<handle>/<market>/<kind>-<format>.{mp4,srt,vtt,jpg,json}."""
    stem = f"{sb.kind}-{sb.format.replace(':', 'x')}"
    folder = Path(out_dir) / sb.product_handle / sb.market
    return {ext: folder / f"{stem}.{ext}" for ext in ("mp4", "srt", "vtt", "jpg", "json")}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _retime_captions(sb: Storyboard, segments) -> list:
    """Captions timed to the spoken sentences when a voice spoke them, never faster than the market reads.

    A sentence's caption stays up until the next sentence starts (the voice is often quicker than a
    reader); when that still reads too fast the storyboard's reading-speed timing is kept instead.
    """
    if not segments:
        return list(sb.captions)
    segs = sorted((float(s), float(e), t) for s, e, t in segments)
    held = [(s, (segs[i + 1][0] - 0.07) if i + 1 < len(segs) else sb.duration, t) for i, (s, e, t) in enumerate(segs)]
    try:
        from localization.markets import get_market
        from localization.subtitles import make_cues

        market = get_market(sb.market)
        cues = list(make_cues(sb.voiceover, sb.duration, market, segments=held))
    except Exception:  # noqa: BLE001 - localization not ready or unknown market: time by segments ourselves
        from productreel.models import Cue

        return [Cue(start=s, end=e, text=txt) for s, e, txt in held]
    cps = float(market.caption_chars_per_second)
    too_fast = any(len(c.text.replace("\n", "")) / max(1e-3, c.end - c.start) > cps * 1.05 or c.end - c.start < 5 / 6 for c in cues)
    return list(sb.captions) if too_fast and sb.captions else cues


def _with_ai_label(sb: Storyboard) -> Storyboard:
    """A storyboard with a generated shot always carries the market's AI label, whoever built it."""
    label = sb.metadata.ai_label
    if not sb.has_generated or not label:
        return sb
    if any(o.role == "disclosure" for s in sb.scenes for o in s.overlays):
        return sb
    scenes = [s.model_copy(deep=True) for s in sb.scenes]
    for s in scenes:
        s.overlays.insert(0, TextOverlay(role="disclosure", text=label))
    return sb.model_copy(update={"scenes": scenes})


def _lower_priority(niceness: int = 10) -> None:
    """Lower the calling thread's priority (Linux): the soundtrack fills the gaps x264 and the frame
    builder leave, instead of preempting them (measured: 1-3 % off a 15 s ad on 2 cores)."""
    if sys.platform.startswith("linux"):
        try:  # on Linux a thread id is a scheduling entity of its own; its children inherit the value
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except (AttributeError, OSError):
            pass


def _quietly(fn) -> None:
    """Run fn, ignoring errors: for warm-up work whose failure is raised again where it is needed."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - re-raised by the caller that needs the result
        pass


def render(storyboard: Storyboard, out_dir: Path, *, workers: int | None = None, voice: str | VoicePick | None = None) -> RenderedClip:
    """Render a storyboard to `<out_dir>/<handle>/<market>/<kind>-<format>.mp4` with its sidecars.

    ``voice``: the clip's voice (clips.voices.pick_voice), or a PRODUCTREEL_VOICE value; default: the setting's
    choice for the storyboard's market and kind. The voice's asset entry goes into the sidecar (``assets``).
    """
    from clips.audio import (Speech, cached_soundtrack, encode_soundtrack, keep_soundtrack, mix_soundtrack, soundtrack_key,
                             speak)
    from clips.captions import write_captions
    from clips.encode import Encoder, encode_command, mux_command, run_ffmpeg
    from clips.voices import VoicePick, pick_voice, storyboard_market

    sb = _with_ai_label(storyboard)
    paths = clip_paths(sb, out_dir)
    paths["mp4"].parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    peak = float(sb.metadata.true_peak_dbtp)

    with tempfile.TemporaryDirectory(prefix="productreel-render-") as tmpdir:
        tmp = Path(tmpdir)
        video_path = tmp / "video.mp4"
        enc = Encoder(encode_command(video_path, sb.width, sb.height, sb.fps))  # starts while we prepare
        poster = None
        tmp_jpg = paths["jpg"].with_name(f".{paths['jpg'].name}.{os.getpid()}-{threading.get_ident()}.tmp")
        audio: dict = {}
        audio_path = tmp / "audio.m4a"
        audio_thread = None
        try:
            # The voice speaks while the scenes are prepared; its sentence timings then place the captions.
            voice_out: dict = {}

            pick = voice if isinstance(voice, VoicePick) else None

            def make_voice() -> None:
                try:
                    chosen = pick or pick_voice(storyboard_market(sb), sb.kind, name=voice)
                    voice_out["pick"] = chosen
                    voice_out["speech"] = speak(sb.voiceover, str(sb.metadata.voice or sb.locale.split("-")[0]),
                                                sb.duration, chosen.backend)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                    voice_out["error"] = exc

            voice_thread = None
            if sb.voiceover.strip():
                voice_thread = threading.Thread(target=make_voice, name="voice", daemon=True)
                voice_thread.start()
            renderer = Renderer(sb.model_copy(update={"captions": []}), early_start=True)
            if voice_thread is not None:
                voice_thread.join()
                if "error" in voice_out:
                    raise voice_out["error"]
            speech = voice_out.get("speech") or Speech(np.zeros(0, np.float32), [], "none")
            cues = _retime_captions(sb, speech.segments)
            sb = sb.model_copy(update={"captions": cues})
            renderer.set_captions(cues)

            # Music, mix, loudness and AAC run beside the video encode instead of before it.
            def make_audio() -> None:
                _lower_priority()
                try:
                    key = soundtrack_key(speech, sb.duration, sb.music, sb.loudness_target, peak)
                    audio["mix"] = cached_soundtrack(key, audio_path)  # another format of this clip made it already
                    if audio["mix"] is None:
                        mix = mix_soundtrack(speech, sb.duration, music=sb.music, target_lufs=sb.loudness_target, peak_dbtp=peak)
                        audio["mix"] = encode_soundtrack(mix, audio_path, sb.loudness_target, peak)
                        keep_soundtrack(key, audio_path, audio["mix"])
                except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                    audio["error"] = exc

            audio_thread = threading.Thread(target=make_audio, name="soundtrack", daemon=True)
            audio_thread.start()

            poster_n = min(renderer.n_frames - 1, int(sb.fps * min(sb.scenes[0].duration * 0.8, 1.5)))
            written: deque[Frame] = deque()
            for n, frame in enumerate(iter_frames(renderer, workers)):
                enc.write(frame.buf)
                if n == poster_n:
                    poster = frame.to_rgb()
                    poster.save(tmp_jpg, "JPEG", quality=90)  # now, while the encoder is busy, not after it
                written.append(frame)
                while len(written) > enc.in_flight:  # FFmpeg may still be reading the newest ones' pages
                    renderer.release(written.popleft())
            enc.close()
        except BaseException:
            tmp_jpg.unlink(missing_ok=True)
            enc.kill()
            if audio_thread is not None:
                audio_thread.join()
            raise
        audio_thread.join()
        if "error" in audio:
            tmp_jpg.unlink(missing_ok=True)
            raise audio["error"]
        mix = audio["mix"]

        meta_tags = {"comment": f"productreel job {sb.job_key}"}
        if sb.has_generated:
            # Implicit AIGC label (GB 45438-2025 Annex E) in the file itself.
            meta_tags["AIGC"] = json.dumps({"Label": "1", "ContentProducer": "productreel", "ProduceID": sb.job_key,
                                            "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""})
        tmp_mp4 = paths["mp4"].with_name(f".{paths['mp4'].stem}.{os.getpid()}-{threading.get_ident()}.tmp.mp4")
        try:
            run_ffmpeg(mux_command(video_path, audio_path, tmp_mp4, metadata=meta_tags), where="mux")
            os.replace(tmp_mp4, paths["mp4"])
            if poster is not None:
                os.replace(tmp_jpg, paths["jpg"])
        finally:
            tmp_mp4.unlink(missing_ok=True)
            tmp_jpg.unlink(missing_ok=True)

    write_captions(cues, paths["srt"], paths["vtt"])

    # The voice that spoke (name, licence, revision): LIC-1 reads the sidecar's assets, the job signs them (C2PA).
    spoke = voice_out.get("pick")
    voice_asset = spoke.asset if spoke is not None and speech.samples.size else None
    voice_model = spoke.model if spoke is not None and speech.samples.size else None
    images = []
    for s in sb.scenes:
        if s.shot.image and Path(s.shot.image).exists() and str(s.shot.image) not in [i["path"] for i in images]:
            images.append({"path": str(s.shot.image), "sha256": _sha256(Path(s.shot.image))})
    metadata = {
        "job_key": sb.job_key,
        "product_handle": sb.product_handle,
        "market": sb.market,
        "locale": sb.locale,
        "kind": sb.kind,
        "format": sb.format,
        "width": sb.width,
        "height": sb.height,
        "fps": sb.fps,
        "duration": round(sb.duration, 3),
        "frames": renderer.n_frames,
        "has_generated": sb.has_generated,
        "renderer": {"name": "compose", "version": RENDERER_VERSION, "python": platform.python_version()},
        "rendered_at": started.isoformat(),
        "inputs": {"images": images, "generated": [str(s.shot.video) for s in sb.scenes if s.shot.video],
                   "product_content_hash": sb.metadata.product_content_hash},
        "templates": sb.metadata.templates,
        "storyboard_version": sb.metadata.storyboard_version,
        "brand": sb.brand,
        "destination": sb.destination,
        "safe_zone": list(renderer.geo.safe),
        "overlays": renderer.overlay_boxes(),
        "products": renderer.product_boxes(),
        "style": sb.metadata.style,
        "truncated": [dict(t) for t in {tuple(sorted(d.items())) for d in renderer.designer.truncated}],
        **({"assets": [voice_asset]} if voice_asset else {}),
        "audio": {"voice": mix.voice, "voice_model": voice_model, "music": mix.music, "lufs": round(mix.lufs, 2) if np.isfinite(mix.lufs) else None,
                  "true_peak_dbtp": round(mix.true_peak, 2) if np.isfinite(mix.true_peak) else None,
                  "target_lufs": sb.loudness_target, "segments": [list(s) for s in mix.segments]},
        "captions": {"burned_in": sb.burn_captions, "cues": len(cues)},
        "storyboard": sb.model_dump(mode="json"),
    }
    atomic.write_json(paths["json"], metadata, default=str)
    return RenderedClip(
        job_key=sb.job_key, product_handle=sb.product_handle, market=sb.market, kind=sb.kind, format=sb.format,
        video=paths["mp4"], srt=paths["srt"], vtt=paths["vtt"], poster=paths["jpg"] if poster is not None else None,
        metadata=paths["json"], duration=renderer.n_frames / sb.fps, width=sb.width, height=sb.height,
        has_generated=sb.has_generated,
    )
