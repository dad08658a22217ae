"""Frames as Y'CbCr 4:2:0 planes (BT.709, limited range): the renderer composes in the encoder's own format.

Working in planes means per-frame resampling touches 1.5 bytes a pixel instead of 4, and FFmpeg
receives what libx264 encodes, with no colour conversion left to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# BT.709 luma coefficients; limited ("TV") range 16-235 / 16-240.
KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB


def rgb_to_planes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An HxWx3 uint8 RGB array (even H and W) as Y (H,W), Cb and Cr (H/2,W/2) uint8 planes."""
    f = rgb.astype(np.float32) * (1.0 / 255.0)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = KR * r + KG * g + KB * b
    cb = (b - y) / (2 * (1 - KB))
    cr = (r - y) / (2 * (1 - KR))
    Y = np.clip(16 + 219 * y + 0.5, 0, 255).astype(np.uint8)
    # Chroma is averaged over each 2x2 block (MPEG-2/H.264 "left" siting is close enough for overlays).
    h, w = cb.shape
    cb = cb.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    cr = cr.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    U = np.clip(128 + 224 * cb + 0.5, 0, 255).astype(np.uint8)
    V = np.clip(128 + 224 * cr + 0.5, 0, 255).astype(np.uint8)
    return Y, U, V


def planes_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Y, Cb, Cr planes (4:2:0) back to an HxWx3 uint8 RGB array (for posters and tests)."""
    yf = (y.astype(np.float32) - 16) / 219
    uf = (np.repeat(np.repeat(u, 2, 0), 2, 1).astype(np.float32) - 128) / 224
    vf = (np.repeat(np.repeat(v, 2, 0), 2, 1).astype(np.float32) - 128) / 224
    r = yf + 2 * (1 - KR) * vf
    b = yf + 2 * (1 - KB) * uf
    g = (yf - KR * r - KB * b) / KG
    return np.clip(np.stack([r, g, b], -1) * 255 + 0.5, 0, 255).astype(np.uint8)


def even(n: float) -> int:
    """Round to the nearest even integer (chroma planes are half size)."""
    return int(round(n / 2.0)) * 2


@dataclass
class Planes:
    """A picture as three PIL 'L' images: Y at full size, Cb and Cr at half size."""

    y: Image.Image
    u: Image.Image
    v: Image.Image

    @classmethod
    def from_rgb(cls, img: Image.Image) -> "Planes":
        """Convert an RGB(A) image with even dimensions (alpha is dropped)."""
        Y, U, V = rgb_to_planes(np.asarray(img.convert("RGB")))
        return cls(Image.fromarray(Y), Image.fromarray(U), Image.fromarray(V))

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the luma plane."""
        return self.y.size

    def copy(self) -> "Planes":
        """An independent copy."""
        return Planes(self.y.copy(), self.u.copy(), self.v.copy())

    def tobytes(self) -> bytes:
        """The frame as raw yuv420p bytes, ready for FFmpeg's rawvideo input."""
        return self.y.tobytes() + self.u.tobytes() + self.v.tobytes()

    def to_rgb(self) -> Image.Image:
        """The frame as an RGB PIL image."""
        return Image.fromarray(planes_to_rgb(np.asarray(self.y), np.asarray(self.u), np.asarray(self.v)))


@dataclass
class Layer:
    """A pre-rendered RGBA overlay, converted once into planes with a full and a half-size alpha."""

    planes: Planes
    alpha: Image.Image
    alpha2: Image.Image
    x: int
    y: int
    visible: tuple[int, int] | None = None  # size before padding to even

    @classmethod
    def from_rgba(cls, img: Image.Image, x: int, y: int) -> "Layer":
        """A layer at (x, y); position and size are snapped to even numbers for the chroma planes."""
        img = img.convert("RGBA")
        w, h = img.size
        W, H = w + (w % 2), h + (h % 2)
        if (W, H) != (w, h):
            canvas = Image.new("RGBA", (W, H), (0, 0, 0, 0))
            canvas.paste(img, (0, 0))
            img = canvas
        a = img.getchannel("A")
        # Colour under fully transparent pixels is irrelevant, but must not bleed into the
        # averaged chroma: premultiply-style fill with the visible colour's neighbours is overkill,
        # so weight the 2x2 chroma average by alpha instead.
        arr = np.asarray(img).astype(np.float32)
        al = arr[..., 3:4] / 255.0
        rgb = arr[..., :3]
        Y, _, _ = rgb_to_planes(rgb.astype(np.uint8))
        h2, w2 = H // 2, W // 2
        blk = (rgb * al).reshape(h2, 2, w2, 2, 3).sum(axis=(1, 3))
        wsum = al.reshape(h2, 2, w2, 2, 1).sum(axis=(1, 3))
        avg = np.where(wsum > 0, blk / np.maximum(wsum, 1e-6), 0).astype(np.float32)
        avg_img = np.repeat(np.repeat(np.clip(avg + 0.5, 0, 255).astype(np.uint8), 2, 0), 2, 1)
        _, U, V = rgb_to_planes(avg_img)
        a2 = a.reduce(2)
        # Floor to even: a box placed inside the (even-aligned) safe zone stays inside it.
        layer = cls(Planes(Image.fromarray(Y), Image.fromarray(U), Image.fromarray(V)), a, a2, x - x % 2, y - y % 2)
        layer.visible = (w, h)
        return layer

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the visible content in frame pixels (without the even padding)."""
        w, h = self.visible or self.planes.size
        return (self.x, self.y, self.x + w, self.y + h)

    def paste_on(self, frame: Planes, opacity: float = 1.0, dx: int = 0) -> None:
        """Alpha-blend this layer onto a frame, touching only its own box."""
        a, a2 = self.alpha, self.alpha2
        if opacity < 0.999:
            lvl = max(0, min(255, int(opacity * 255)))
            a = a.point(lambda v, lvl=lvl: v * lvl // 255)
            a2 = a2.point(lambda v, lvl=lvl: v * lvl // 255)
        x, y = self.x + even(dx), self.y
        frame.y.paste(self.planes.y, (x, y), a)
        frame.u.paste(self.planes.u, (x // 2, y // 2), a2)
        frame.v.paste(self.planes.v, (x // 2, y // 2), a2)
