"""Frames as Y'CbCr 4:2:0 planes (BT.709, limited range): the renderer composes in the encoder's own format.

Working in planes means per-frame work touches 1.5 bytes a pixel instead of 3 or 4, and FFmpeg
receives exactly what libx264 encodes, with no colour conversion left to do. Everything
per-frame is numpy slicing or one OpenCV resize; pictures are converted once, at preparation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

try:  # OpenCV's SIMD resize is ~8x faster than Pillow's; Pillow stays as the fallback.
    import cv2

    cv2.setNumThreads(1)  # the renderer parallelises across frames; x264 needs the other cores
except ImportError:  # pragma: no cover - opencv-python-headless is a dependency
    cv2 = None

# BT.709 luma coefficients; limited ("TV") range 16-235 / 16-240.
KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB
PAD = 48  # replicated border around a resampling source, so sub-pixel alignment can look left/up


def _forward_matrix() -> np.ndarray:
    """RGB (0-255) -> limited-range Y'CbCr as a 3x4 affine matrix (BT.709)."""
    ky, kc = 219 / 255, 224 / 255
    m = np.array([
        [KR * ky, KG * ky, KB * ky, 16.0],
        [-KR / (2 * (1 - KB)) * kc, -KG / (2 * (1 - KB)) * kc, 0.5 * kc, 128.0],
        [0.5 * kc, -KG / (2 * (1 - KR)) * kc, -KB / (2 * (1 - KR)) * kc, 128.0],
    ])
    return m


FORWARD = _forward_matrix()
INVERSE = np.hstack([np.linalg.inv(FORWARD[:, :3]), -np.linalg.inv(FORWARD[:, :3]) @ FORWARD[:, 3:]])


def rgb_to_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An HxWx3 uint8 RGB array (even H and W) as Y (H,W), Cb and Cr (H/2,W/2) uint8 planes.

    Chroma is the 2x2 block average (centre siting), as FFmpeg's own conversion does.
    """
    h, w = rgb.shape[:2]
    if cv2 is not None:
        ycc = cv2.transform(np.ascontiguousarray(rgb), FORWARD)  # one SIMD pass, rounded and saturated
        Y = np.ascontiguousarray(ycc[..., 0])
        U = cv2.resize(np.ascontiguousarray(ycc[..., 1]), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        V = cv2.resize(np.ascontiguousarray(ycc[..., 2]), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        return Y, U, V
    f = rgb.astype(np.float32)
    ycc = f @ FORWARD[:, :3].T.astype(np.float32) + FORWARD[:, 3].astype(np.float32)
    Y = np.clip(ycc[..., 0] + 0.5, 0, 255).astype(np.uint8)
    c = ycc[..., 1:].reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3))
    U = np.clip(c[..., 0] + 0.5, 0, 255).astype(np.uint8)
    V = np.clip(c[..., 1] + 0.5, 0, 255).astype(np.uint8)
    return Y, U, V


def chroma_of(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Cb and Cr planes of an HxWx3 uint8 RGB array, at its own size (no subsampling)."""
    if cv2 is not None:
        ycc = cv2.transform(np.ascontiguousarray(rgb), FORWARD)
        return np.ascontiguousarray(ycc[..., 1]), np.ascontiguousarray(ycc[..., 2])
    ycc = rgb.astype(np.float32) @ FORWARD[:, :3].T.astype(np.float32) + FORWARD[:, 3].astype(np.float32)
    c = np.clip(ycc[..., 1:] + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(c[..., 0]), np.ascontiguousarray(c[..., 1])


def planes_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Y, Cb, Cr planes (4:2:0) back to an HxWx3 uint8 RGB array (for posters and tests)."""
    h, w = y.shape
    if cv2 is not None:
        up = [cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in (u, v)]
        return cv2.transform(cv2.merge([y, *up]), INVERSE)
    uf = np.repeat(np.repeat(u, 2, 0), 2, 1).astype(np.float32)
    vf = np.repeat(np.repeat(v, 2, 0), 2, 1).astype(np.float32)
    ycc = np.stack([y.astype(np.float32), uf, vf], -1)
    rgb = ycc @ INVERSE[:, :3].T.astype(np.float32) + INVERSE[:, 3].astype(np.float32)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def even(n: float) -> int:
    """Round to the nearest even integer (chroma planes are half size)."""
    return int(round(n / 2.0)) * 2


class Frame:
    """One yuv420p frame in a single contiguous buffer, with y/u/v views (what FFmpeg reads)."""

    __slots__ = ("width", "height", "buf", "y", "u", "v", "base", "dirty")

    def __init__(self, width: int, height: int, buf: np.ndarray | None = None) -> None:
        self.width, self.height = width, height
        n = width * height
        self.buf = np.empty(n * 3 // 2, np.uint8) if buf is None else buf
        self.y = self.buf[:n].reshape(height, width)
        self.u = self.buf[n : n + n // 4].reshape(height // 2, width // 2)
        self.v = self.buf[n + n // 4 :].reshape(height // 2, width // 2)
        # Damage tracking for recycled buffers: the frame this one was last reset to, and the boxes
        # drawn over it since (None: unknown, copy everything).
        self.base: Frame | None = None
        self.dirty: list[tuple[int, int, int, int]] = []

    def mark(self, box: tuple[int, int, int, int]) -> None:
        """Record that `box` was drawn over (so a reset to the same base restores just that box)."""
        if self.base is not None:
            self.dirty.append(box)

    def reset_to(self, base: "Frame", hole: tuple[int, int, int, int]) -> None:
        """Make this frame equal to `base` everywhere but `hole` (a box about to be redrawn whole).

        A recycled buffer last reset to the same base only needs the boxes drawn over it since
        copied back: a few overlays instead of the whole 3 MB frame.
        """
        if self.base is base:
            x0, y0, x1, y1 = hole
            for b in self.dirty:
                if not (x0 <= b[0] and y0 <= b[1] and b[2] <= x1 and b[3] <= y1):  # inside the hole: redrawn anyway
                    self._copy_box(base, b)
        else:
            self.copy_from(base, hole)
        self.base = base
        self.dirty = []

    def forget(self) -> None:
        """The whole frame changed (a transition): the next reset copies everything."""
        self.base = None
        self.dirty = []

    def _copy_box(self, other: "Frame", box: tuple[int, int, int, int]) -> None:
        x0, y0 = max(0, box[0]) & ~1, max(0, box[1]) & ~1
        x1, y1 = min(self.width, box[2] + (box[2] & 1)), min(self.height, box[3] + (box[3] & 1))
        if x1 <= x0 or y1 <= y0:
            return
        self.y[y0:y1, x0:x1] = other.y[y0:y1, x0:x1]
        c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        self.u[c] = other.u[c]
        self.v[c] = other.v[c]

    @classmethod
    def from_rgb(cls, img: Image.Image) -> "Frame":
        """Convert an RGB(A) image with even dimensions (alpha is dropped)."""
        f = cls(*img.size)
        f.y[:], f.u[:], f.v[:] = rgb_to_planes(np.asarray(img.convert("RGB")))
        return f

    def copy_from(self, other: "Frame", hole: tuple[int, int, int, int] | None = None) -> None:
        """Overwrite this frame with another of the same size, except `hole` (a box about to be redrawn)."""
        self.forget()
        if hole is None:
            np.copyto(self.buf, other.buf)
            return
        x0, y0, x1, y1 = hole
        for dst, src, s in ((self.y, other.y, 1), (self.u, other.u, 2), (self.v, other.v, 2)):
            a, b, c, d = x0 // s, y0 // s, x1 // s, y1 // s
            dst[:b] = src[:b]
            dst[d:] = src[d:]
            dst[b:d, :a] = src[b:d, :a]
            dst[b:d, c:] = src[b:d, c:]

    def to_rgb(self) -> Image.Image:
        """The frame as an RGB PIL image."""
        return Image.fromarray(planes_to_rgb(self.y, self.u, self.v))


class Source:
    """A picture prepared for resampling: padded Y'CbCr planes of a card's oversized photo."""

    def __init__(self, img: Image.Image) -> None:
        w, h = img.size
        y, u, v = rgb_to_planes(np.asarray(img.convert("RGB")))
        self.width, self.height = w, h
        self.y = np.pad(y, PAD, mode="edge")
        self.u = np.pad(u, PAD // 2, mode="edge")
        self.v = np.pad(v, PAD // 2, mode="edge")

    def sample(self, frame: Frame, box: tuple[int, int, int, int], window: tuple[float, float, float, float]) -> None:
        """Draw the float `window` of this source (x0, y0, x1, y1 in source pixels) into `box` of frame."""
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        wx0, wy0, wx1, wy1 = window
        sx, sy = (wx1 - wx0) / w, (wy1 - wy0) / h
        resample(self.y, frame.y[y0:y1, x0:x1], wx0 + PAD, wy0 + PAD, sx, sy)
        c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        resample(self.u, frame.u[c], wx0 / 2 + PAD // 2, wy0 / 2 + PAD // 2, sx, sy)
        resample(self.v, frame.v[c], wx0 / 2 + PAD // 2, wy0 / 2 + PAD // 2, sx, sy)


def _align(x0: float, s: float, reach: int) -> tuple[int, int]:
    """An integer crop start a <= x0 and output offset k with a + k*s ~= x0 (error a few 1/100 px).

    OpenCV's resize only crops at whole pixels but scales by any factor; trying a few crop
    starts finds one whose sampling grid lands on the float window, so motion stays sub-pixel.
    """
    base = math.floor(x0)
    a = np.arange(max(0, base - reach), base + 1)
    r = (x0 - a) / s
    k = np.round(r)
    i = int(np.argmin(np.abs(r - k)))
    return int(a[i]), int(k[i])


def resample(src: np.ndarray, out: np.ndarray, x0: float, y0: float, sx: float, sy: float) -> None:
    """Bilinear-sample src into out: out[j, i] = src at (x0 + (i + .5) * sx - .5, y0 + (j + .5) * sy - .5)."""
    h, w = out.shape
    if cv2 is None:
        box = (x0, y0, x0 + w * sx, y0 + h * sy)
        out[:] = np.asarray(Image.fromarray(src).resize((w, h), Image.BILINEAR, box=box))
        return
    a, k = _align(x0, sx, PAD // 2 - 2)
    b, l = _align(y0, sy, PAD // 2 - 2)
    cw = min(src.shape[1] - a, int(math.ceil((k + w + 2) * sx)) + 2)
    ch = min(src.shape[0] - b, int(math.ceil((l + h + 2) * sy)) + 2)
    res = cv2.resize(src[b : b + ch, a : a + cw], None, fx=1.0 / sx, fy=1.0 / sy, interpolation=cv2.INTER_LINEAR)
    out[:] = res[l : l + h, k : k + w]


@dataclass
class Layer:
    """A pre-rendered RGBA overlay converted once into planes, ready to blend inside its own box.

    Opaque pixels are copied, partly transparent ones blended, transparent ones skipped: a text
    chip costs a masked copy plus its anti-aliased rim, not a full-box blend.
    """

    x: int
    y: int
    py: np.ndarray
    pu: np.ndarray
    pv: np.ndarray
    ay: np.ndarray
    ac: np.ndarray
    visible: tuple[int, int] | None = None  # size before padding to even
    _fast: dict | None = field(default=None, repr=False)

    @classmethod
    def from_rgba(cls, img: Image.Image, x: int, y: int) -> "Layer":
        """A layer at (x, y), floored to even coordinates (a box inside the even safe zone stays inside)."""
        img = img.convert("RGBA")
        w, h = img.size
        W, H = w + (w % 2), h + (h % 2)
        if (W, H) != (w, h):
            canvas = Image.new("RGBA", (W, H), (0, 0, 0, 0))
            canvas.paste(img, (0, 0))
            img = canvas
        arr = np.asarray(img)
        Y, _, _ = rgb_to_planes(arr[..., :3])
        # Chroma: the alpha-weighted colour of each 2x2 block, so transparent pixels' (meaningless)
        # colour never bleeds into the rim of the text. Block sums as four strided adds (numpy's
        # reduction over small reshaped axes was half of a clip's overlay preparation).
        al = arr[..., 3:4].astype(np.float32) / 255.0
        pre = arr[..., :3].astype(np.float32) * al
        blk = pre[0::2, 0::2] + pre[1::2, 0::2] + pre[0::2, 1::2] + pre[1::2, 1::2]
        wsum = al[0::2, 0::2] + al[1::2, 0::2] + al[0::2, 1::2] + al[1::2, 1::2]
        avg = np.where(wsum > 0, blk / np.maximum(wsum, 1e-6), 0)
        # Each block's colour converted once at half size: the same as converting it repeated 2x2.
        U, V = chroma_of(np.clip(avg + 0.5, 0, 255).astype(np.uint8))
        a = np.asarray(img.getchannel("A"))
        ac = np.asarray(img.getchannel("A").reduce(2))
        return cls(x - x % 2, y - y % 2, Y, U, V, a.copy(), ac.copy(), (w, h))

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the visible content in frame pixels (without the even padding)."""
        w, h = self.visible or (self.py.shape[1], self.py.shape[0])
        return (self.x, self.y, self.x + w, self.y + h)

    def _plan(self) -> dict:
        if self._fast is None:  # built whole, then published: safe when two frame threads race here
            plan = {}
            for name, src, a in (("y", self.py, self.ay), ("u", self.pu, self.ac), ("v", self.pv, self.ac)):
                partial = (a > 0) & (a < 255)
                if partial.mean() > 0.05:
                    # Mostly translucent (a caption box): one dense blend of the box in 16-bit integers.
                    plan[name] = ("dense", src.astype(np.uint16) * a, (255 - a).astype(np.uint16))
                else:
                    # Mostly opaque (a chip): copy it, blend only its anti-aliased rim.
                    rr, cc = np.nonzero(partial)
                    part = a[rr, cc].astype(np.uint32)
                    plan[name] = ("sparse", a == 255, src, rr, cc, src[rr, cc].astype(np.uint32) * part, 255 - part)
            self._fast = plan
        return self._fast

    def paste_on(self, frame: Frame, opacity: float = 1.0, dy: int = 0) -> None:
        """Alpha-blend this layer onto a frame, touching only its own box (`dy` even pixels lower, while it slides in)."""
        H, W = self.py.shape
        x, y = self.x, self.y
        if dy and opacity < 0.999:
            y = self.y + (dy & ~1)
            keep = max(0, min(H, frame.height - y))
            if keep < 2:
                return
            frame.mark((x, y, x + W, y + keep))
            views = {"y": frame.y[y : y + keep, x : x + W], "u": frame.u[y // 2 : (y + keep) // 2, x // 2 : (x + W) // 2],
                     "v": frame.v[y // 2 : (y + keep) // 2, x // 2 : (x + W) // 2]}
            op = max(0.0, opacity)
            for name, src, a in (("y", self.py, self.ay), ("u", self.pu, self.ac), ("v", self.pv, self.ac)):
                dst = views[name]
                n = dst.shape[0]
                af = a[:n].astype(np.float32) * (op / 255.0)
                dst[:] = (src[:n] * af + dst * (1.0 - af) + 0.5).astype(np.uint8)
            return
        frame.mark((x, y, x + W, y + H))
        views = {"y": frame.y[y : y + H, x : x + W], "u": frame.u[y // 2 : (y + H) // 2, x // 2 : (x + W) // 2],
                 "v": frame.v[y // 2 : (y + H) // 2, x // 2 : (x + W) // 2]}
        if opacity >= 0.999:
            for name, plan in self._plan().items():
                dst = views[name]
                if plan[0] == "dense":
                    _, pre, inv = plan
                    acc = dst * inv  # exact round(x / 255) below, in uint16 without overflow
                    acc += pre
                    acc += 128
                    acc += acc >> 8
                    dst[:] = acc >> 8
                else:
                    _, opaque, src, rr, cc, pre, inv = plan
                    np.copyto(dst, src, where=opaque)
                    if rr.size:
                        dst[rr, cc] = ((pre + dst[rr, cc].astype(np.uint32) * inv + 127) // 255).astype(np.uint8)
            return
        op = max(0.0, opacity)
        for name, src, a in (("y", self.py, self.ay), ("u", self.pu, self.ac), ("v", self.pv, self.ac)):
            dst = views[name]
            af = a.astype(np.float32) * (op / 255.0)
            dst[:] = (src * af + dst * (1.0 - af) + 0.5).astype(np.uint8)


class Patch:
    """Small fixed layers (the card's rounded corners) merged into one set of flat buffer indices,
    so drawing all of them is four numpy operations per frame, whatever their number."""

    def __init__(self, layers: list[Layer], width: int, height: int) -> None:
        n = width * height
        idx_o, val_o, idx_p, pre_p, inv_p = [], [], [], [], []
        for L in layers:
            for plane, a, src, off, stride, sx, sy in (
                ("y", L.ay, L.py, 0, width, L.x, L.y),
                ("u", L.ac, L.pu, n, width // 2, L.x // 2, L.y // 2),
                ("v", L.ac, L.pv, n + n // 4, width // 2, L.x // 2, L.y // 2),
            ):
                rr, cc = np.nonzero(a == 255)
                idx_o.append(off + (rr + sy) * stride + cc + sx)
                val_o.append(src[rr, cc])
                rr, cc = np.nonzero((a > 0) & (a < 255))
                idx_p.append(off + (rr + sy) * stride + cc + sx)
                pre_p.append(src[rr, cc].astype(np.uint32) * a[rr, cc])
                inv_p.append(255 - a[rr, cc].astype(np.uint32))
        self.idx_o = np.concatenate(idx_o) if idx_o else np.zeros(0, np.int64)
        self.val_o = np.concatenate(val_o) if val_o else np.zeros(0, np.uint8)
        self.idx_p = np.concatenate(idx_p) if idx_p else np.zeros(0, np.int64)
        self.pre_p = np.concatenate(pre_p) if pre_p else np.zeros(0, np.uint32)
        self.inv_p = np.concatenate(inv_p) if inv_p else np.zeros(0, np.uint32)

    def paste_on(self, frame: Frame) -> None:
        """Draw every merged layer onto the frame."""
        buf = frame.buf
        buf[self.idx_o] = self.val_o
        if self.idx_p.size:
            buf[self.idx_p] = ((self.pre_p + buf[self.idx_p] * self.inv_p + 127) // 255).astype(np.uint8)


class Sprite:
    """An RGBA picture (the cutout product with its shadow) that moves and scales per frame.

    Converted once into premultiplied Y'CbCr planes plus alpha; each frame is one affine resample
    of those planes into the sprite's box (sub-pixel position and any scale, so motion is smooth)
    and a premultiplied "over" blend, all in OpenCV's SIMD loops, touching only the sprite's box.
    """

    def __init__(self, img: Image.Image) -> None:
        img = img.convert("RGBA")
        w, h = img.size
        W, H = w + (w % 2), h + (h % 2)
        if (W, H) != (w, h):
            canvas = Image.new("RGBA", (W, H), (0, 0, 0, 0))
            canvas.paste(img, (0, 0))
            img = canvas
        arr = np.asarray(img)
        a = arr[..., 3]
        Y, _, _ = rgb_to_planes(arr[..., :3])
        al = arr[..., 3:4].astype(np.float32) / 255.0
        pre = arr[..., :3].astype(np.float32) * al
        blk = pre[0::2, 0::2] + pre[1::2, 0::2] + pre[0::2, 1::2] + pre[1::2, 1::2]
        wsum = al[0::2, 0::2] + al[1::2, 0::2] + al[0::2, 1::2] + al[1::2, 1::2]
        avg = np.where(wsum > 0, blk / np.maximum(wsum, 1e-6), 0)
        U, V = chroma_of(np.clip(avg + 0.5, 0, 255).astype(np.uint8))
        ac = (wsum[..., 0] / 4 * 255 + 0.5).astype(np.uint8)
        # Premultiplied planes: resampling them with alpha gives no dark or coloured fringes.
        self.py = ((Y.astype(np.uint16) * a + 127) // 255).astype(np.uint8)
        self.pu = ((U.astype(np.uint16) * ac + 127) // 255).astype(np.uint8)
        self.pv = ((V.astype(np.uint16) * ac + 127) // 255).astype(np.uint8)
        self.a = np.ascontiguousarray(a)
        self.ac = ac
        self.width, self.height = W, H

    def box_at(self, x: float, y: float, scale: float) -> tuple[int, int, int, int]:
        """The even-aligned frame box the sprite covers with its top-left at (x, y) and this scale."""
        x0, y0 = int(math.floor(x)) & ~1, int(math.floor(y)) & ~1
        x1 = int(math.ceil(x + self.width * scale)) + 2
        y1 = int(math.ceil(y + self.height * scale)) + 2
        return x0, y0, x1 + (x1 & 1), y1 + (y1 & 1)

    def draw(self, frame: Frame, x: float, y: float, scale: float) -> None:
        """Draw the sprite with its top-left corner at float (x, y), scaled by `scale` (<= 1 keeps it sharp)."""
        bx0, by0, bx1, by1 = self.box_at(x, y, scale)
        bx0, by0 = max(0, bx0), max(0, by0)
        bx1, by1 = min(frame.width, bx1), min(frame.height, by1)
        if bx1 - bx0 < 2 or by1 - by0 < 2:
            return
        frame.mark((bx0, by0, bx1, by1))
        full = _affine(scale, x - bx0, y - by0)
        half = _affine(scale, (x - bx0) / 2, (y - by0) / 2)
        for pre, a, dst, M in ((self.py, self.a, frame.y[by0:by1, bx0:bx1], full),
                               (self.pu, self.ac, frame.u[by0 // 2 : by1 // 2, bx0 // 2 : bx1 // 2], half),
                               (self.pv, self.ac, frame.v[by0 // 2 : by1 // 2, bx0 // 2 : bx1 // 2], half)):
            if dst.size == 0:
                continue
            sz = (dst.shape[1], dst.shape[0])
            p = cv2.warpAffine(pre, M, sz, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            al = cv2.warpAffine(a, M, sz, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            # over: dst = pre + dst * (255 - a) / 255
            keep = cv2.multiply(dst, cv2.bitwise_not(al), scale=1.0 / 255.0)
            cv2.add(keep, p, dst=dst)


def _affine(s: float, ox: float, oy: float) -> np.ndarray:
    """The 2x3 matrix that scales by s and moves by (ox, oy), with pixel centres at +0.5 (OpenCV's warp convention)."""
    return np.array([[s, 0, ox + 0.5 * s - 0.5], [0, s, oy + 0.5 * s - 0.5]], np.float64)
