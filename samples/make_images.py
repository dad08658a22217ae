"""Make the sample catalog's product photos (run once; the images are committed).

Photos come from scikit-image's bundled sample data (no download) or are drawn
with Pillow. Each image is drawn at 1600x1600 and saved at 1200x1200 (a product
large enough for a 9:16 hero shot without upscaling it more than 2x) and
under 150 KB, so samples/ stays small.

    .venv/bin/python samples/make_images.py
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "images"
SIZE = 800  # the drawing grid: coordinates below are on an 800x800 canvas
SS = 2  # draw at 2x and downscale: cheap anti-aliasing
SAVED = 1200  # the size written: downscaled from the 1600 px drawing, never upscaled


def _backdrop(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    """A vertical studio gradient with a soft floor."""
    s = SIZE * SS
    t = np.linspace(0.0, 1.0, s)[:, None, None]
    grad = (np.array(top)[None, None, :] * (1 - t) + np.array(bottom)[None, None, :] * t)
    grad = np.repeat(grad, s, axis=1).astype(np.uint8)
    return Image.fromarray(grad)


def _shadow(img: Image.Image, box: tuple[int, int, int, int], strength: int = 90) -> None:
    """A blurred elliptical contact shadow under the product."""
    layer = Image.new("L", img.size, 0)
    ImageDraw.Draw(layer).ellipse([c * SS for c in box], fill=strength)
    layer = layer.filter(ImageFilter.GaussianBlur(18 * SS))
    img.paste((40, 40, 40), mask=layer)


def _shade(color: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    """Lighter (k > 1) or darker (k < 1) version of a colour."""
    return tuple(max(0, min(255, int(c * k))) for c in color)  # type: ignore[return-value]


def _save(img: Image.Image, name: str) -> None:
    """Downscale to SAVED x SAVED and write JPEG (or PNG with alpha) under the size budget."""
    img = img.resize((SAVED, SAVED), Image.LANCZOS)
    path = OUT / name
    if name.endswith(".png"):
        img.save(path, optimize=True)
    else:
        quality = 88
        while True:
            img.convert("RGB").save(path, quality=quality, optimize=True, progressive=True)
            if path.stat().st_size <= 140_000 or quality <= 50:
                break
            quality -= 6
    print(f"{name}: {path.stat().st_size // 1024} KB")


def _square(arr: np.ndarray) -> Image.Image:
    """Centre-crop a scikit-image sample to a square RGB image."""
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    h, w = arr.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return Image.fromarray(arr[y : y + s, x : x + s, :3]).resize((SIZE * SS, SIZE * SS), Image.LANCZOS)


def mug(color: tuple[int, int, int], name: str) -> None:
    """A ceramic mug with a handle, side-lit."""
    img = _backdrop((236, 232, 226), (205, 198, 188))
    _shadow(img, (200, 590, 620, 660))
    d = ImageDraw.Draw(img)
    k = SS
    d.ellipse([530 * k, 300 * k, 660 * k, 520 * k], outline=_shade(color, 0.85), width=34 * k)
    d.rounded_rectangle([220 * k, 230 * k, 580 * k, 630 * k], radius=40 * k, fill=color)
    for i in range(60):  # a soft highlight band down the left side
        a = 0.35 * math.sin(math.pi * i / 60)
        d.line([(265 + i) * k, 250 * k, (265 + i) * k, 610 * k], fill=_shade(color, 1 + a), width=k)
    d.ellipse([220 * k, 205 * k, 580 * k, 265 * k], fill=_shade(color, 0.92))
    d.ellipse([236 * k, 213 * k, 564 * k, 257 * k], fill=(92, 58, 36))
    _save(img, name)


def bottle(color: tuple[int, int, int], name: str) -> None:
    """An insulated steel bottle on a transparent background (PNG with alpha)."""
    s = SIZE * SS
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    k = SS
    d.rounded_rectangle([300 * k, 120 * k, 500 * k, 200 * k], radius=18 * k, fill=(60, 60, 64, 255))
    d.rectangle([330 * k, 190 * k, 470 * k, 240 * k], fill=(185, 188, 192, 255))
    d.rounded_rectangle([270 * k, 230 * k, 530 * k, 700 * k], radius=70 * k, fill=color + (255,))
    for i in range(70):
        a = 0.45 * math.sin(math.pi * i / 70)
        d.line([(300 + i) * k, 270 * k, (300 + i) * k, 660 * k], fill=_shade(color, 1 + a) + (255,), width=k)
    d.rectangle([270 * k, 420 * k, 530 * k, 470 * k], fill=_shade(color, 0.8) + (255,))
    _save(img, name)


def lantern() -> None:
    """A camping lantern with a warm glow."""
    img = _backdrop((30, 38, 52), (60, 66, 72))
    glow = Image.new("L", img.size, 0)
    ImageDraw.Draw(glow).ellipse([200 * SS, 200 * SS, 600 * SS, 600 * SS], fill=170)
    glow = glow.filter(ImageFilter.GaussianBlur(60 * SS))
    img.paste((255, 196, 110), mask=glow)
    _shadow(img, (230, 640, 570, 700))
    d = ImageDraw.Draw(img)
    k = SS
    d.arc([320 * k, 90 * k, 480 * k, 230 * k], 180, 360, fill=(40, 40, 40), width=12 * k)
    d.rounded_rectangle([290 * k, 160 * k, 510 * k, 230 * k], radius=20 * k, fill=(46, 110, 80))
    d.rounded_rectangle([310 * k, 230 * k, 490 * k, 560 * k], radius=30 * k, fill=(255, 226, 160))
    for x in (330, 400, 470):
        d.line([x * k, 230 * k, x * k, 560 * k], fill=(200, 170, 110), width=6 * k)
    d.rounded_rectangle([280 * k, 550 * k, 520 * k, 660 * k], radius=24 * k, fill=(46, 110, 80))
    _save(img, "lantern.jpg")


def candle() -> None:
    """A soy candle in an amber glass jar."""
    img = _backdrop((244, 238, 230), (214, 204, 192))
    _shadow(img, (220, 600, 580, 660))
    d = ImageDraw.Draw(img)
    k = SS
    d.rounded_rectangle([240 * k, 300 * k, 560 * k, 640 * k], radius=34 * k, fill=(170, 96, 40))
    d.ellipse([240 * k, 270 * k, 560 * k, 340 * k], fill=(248, 240, 224))
    d.line([400 * k, 250 * k, 400 * k, 300 * k], fill=(40, 30, 20), width=6 * k)
    d.ellipse([385 * k, 180 * k, 415 * k, 255 * k], fill=(255, 190, 80))
    d.ellipse([392 * k, 205 * k, 408 * k, 250 * k], fill=(255, 245, 200))
    d.rectangle([280 * k, 420 * k, 520 * k, 520 * k], fill=(238, 230, 214))
    d.rectangle([280 * k, 418 * k, 520 * k, 424 * k], fill=(120, 90, 60))
    _save(img, "candle.jpg")


def hand_cream() -> None:
    """A tube of hand cream on a transparent background (PNG with alpha)."""
    s = SIZE * SS
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    k = SS
    d.polygon([(250 * k, 180 * k), (550 * k, 180 * k), (500 * k, 560 * k), (300 * k, 560 * k)], fill=(196, 178, 222, 255))
    d.rectangle([240 * k, 160 * k, 560 * k, 190 * k], fill=(170, 150, 200, 255))
    d.rounded_rectangle([330 * k, 555 * k, 470 * k, 660 * k], radius=14 * k, fill=(120, 96, 160, 255))
    d.ellipse([350 * k, 300 * k, 450 * k, 400 * k], fill=(140, 110, 190, 255))
    for a in range(0, 360, 45):  # a small lavender sprig mark
        x = 400 + 30 * math.cos(math.radians(a))
        y = 350 + 30 * math.sin(math.radians(a))
        d.ellipse([(x - 8) * k, (y - 8) * k, (x + 8) * k, (y + 8) * k], fill=(230, 220, 245, 255))
    _save(img, "hand-cream.png")


def knife() -> None:
    """A chef's knife lying diagonally on slate."""
    img = _backdrop((70, 74, 80), (46, 50, 56))
    d = ImageDraw.Draw(img)
    k = SS
    blade = [(140, 560), (560, 250), (640, 200), (600, 280), (230, 620)]
    d.polygon([(x * k, y * k) for x, y in blade], fill=(210, 214, 220))
    d.line([(160 * k, 570 * k), (600 * k, 240 * k)], fill=(245, 247, 250), width=5 * k)
    d.polygon([(x * k, y * k) for x, y in [(90, 600), (150, 555), (230, 620), (170, 670)]], fill=(58, 36, 24))
    d.polygon([(x * k, y * k) for x, y in [(40, 640), (100, 595), (180, 660), (120, 710)]], fill=(72, 44, 28))
    _save(img, "knife.jpg")


def cutting_board() -> None:
    """A bamboo board: scikit-image's gravel texture tinted as wood grain."""
    from skimage import data

    tex = np.asarray(Image.fromarray(data.gravel()).resize((SIZE * SS, SIZE * SS))).astype(float) / 255.0
    base = np.zeros((SIZE * SS, SIZE * SS, 3))
    base[...] = (240, 236, 228)
    wood = np.stack([196 + 40 * tex, 150 + 30 * tex, 96 + 20 * tex], axis=-1)
    mask = np.zeros((SIZE * SS, SIZE * SS), bool)
    mask[180 * SS : 640 * SS, 110 * SS : 690 * SS] = True
    base[mask] = wood[mask]
    img = Image.fromarray(base.astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse([620 * SS, 220 * SS, 660 * SS, 260 * SS], fill=(240, 236, 228))
    _save(img, "cutting-board.jpg")


def jars() -> None:
    """Three glass storage jars with wooden lids."""
    img = _backdrop((232, 236, 232), (200, 206, 200))
    _shadow(img, (90, 610, 720, 680))
    d = ImageDraw.Draw(img)
    k = SS
    for x0, h, fill in [(110, 260, (222, 196, 150)), (320, 360, (120, 90, 60)), (530, 200, (240, 236, 220))]:
        top = 640 - h
        d.rounded_rectangle([x0 * k, top * k, (x0 + 170) * k, 640 * k], radius=24 * k, fill=(214, 226, 230))
        d.rounded_rectangle([(x0 + 10) * k, (top + 60) * k, (x0 + 160) * k, 630 * k], radius=18 * k, fill=fill)
        d.rounded_rectangle([(x0 - 6) * k, (top - 30) * k, (x0 + 176) * k, (top + 6) * k], radius=10 * k, fill=(186, 140, 90))
    _save(img, "jars.jpg")


def backpack(color: tuple[int, int, int], name: str) -> None:
    """A trail backpack front view."""
    img = _backdrop((214, 224, 214), (180, 192, 180))
    _shadow(img, (220, 640, 580, 700))
    d = ImageDraw.Draw(img)
    k = SS
    d.rounded_rectangle([240 * k, 140 * k, 560 * k, 670 * k], radius=90 * k, fill=color)
    d.rounded_rectangle([290 * k, 400 * k, 510 * k, 620 * k], radius=40 * k, fill=_shade(color, 0.8))
    d.arc([280 * k, 160 * k, 520 * k, 380 * k], 200, 340, fill=(30, 30, 30), width=8 * k)
    d.rectangle([380 * k, 90 * k, 420 * k, 150 * k], fill=(40, 40, 40))
    _save(img, name)


def chair() -> None:
    """A folding camp chair."""
    img = _backdrop((220, 232, 240), (190, 200, 170))
    _shadow(img, (180, 640, 620, 700))
    d = ImageDraw.Draw(img)
    k = SS
    for a, b in [((220, 660), (560, 330)), ((580, 660), (240, 330))]:
        d.line([a[0] * k, a[1] * k, b[0] * k, b[1] * k], fill=(50, 50, 55), width=16 * k)
    d.polygon([(x * k, y * k) for x, y in [(230, 400), (570, 400), (550, 470), (250, 470)]], fill=(34, 92, 140))
    d.polygon([(x * k, y * k) for x, y in [(250, 160), (550, 160), (570, 400), (230, 400)]], fill=(44, 112, 168))
    _save(img, "chair.jpg")


def cushion(color: tuple[int, int, int], name: str) -> None:
    """A linen cushion cover with a woven texture from scikit-image's grass sample."""
    from skimage import data

    img = _backdrop((238, 234, 228), (216, 210, 200))
    _shadow(img, (170, 600, 630, 680))
    tex = Image.fromarray(data.grass()).resize((520 * SS, 440 * SS)).convert("L")
    fabric = Image.new("RGB", tex.size, color)
    fabric = Image.blend(fabric, Image.merge("RGB", [tex] * 3), 0.12)
    mask = Image.new("L", tex.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, tex.size[0], tex.size[1]], radius=80 * SS, fill=255)
    img.paste(fabric, (140 * SS, 190 * SS), mask)
    _save(img, name)


def towel() -> None:
    """A stack of folded bath towels."""
    img = _backdrop((236, 240, 242), (206, 214, 218))
    _shadow(img, (160, 610, 640, 680))
    d = ImageDraw.Draw(img)
    k = SS
    colors = [(250, 250, 248), (184, 206, 214), (236, 226, 210), (250, 250, 248)]
    for i, c in enumerate(colors):
        y = 620 - (i + 1) * 95
        d.rounded_rectangle([170 * k, y * k, 630 * k, (y + 90) * k], radius=40 * k, fill=c)
        d.line([190 * k, (y + 70) * k, 610 * k, (y + 70) * k], fill=_shade(c, 0.88), width=5 * k)
    _save(img, "towels.jpg")


def photos() -> None:
    """Products photographed in scikit-image's sample data."""
    from skimage import data

    _save(_square(data.coffee()), "coffee.jpg")
    _save(_square(data.chelsea()), "cat-bed.jpg")
    clock = _square(data.clock()).convert("RGB")
    sepia = Image.merge("RGB", [p.point(lambda v, f=f: int(v * f)) for p, f in zip(clock.split(), (1.0, 0.93, 0.8))])
    _save(sepia, "wall-clock.jpg")


def main() -> None:
    """Write every sample image."""
    OUT.mkdir(parents=True, exist_ok=True)
    photos()
    mug((246, 244, 240), "mug-white.jpg")
    mug((58, 96, 156), "mug-blue.jpg")
    mug((150, 174, 140), "mug-sage.jpg")
    bottle((44, 120, 110), "bottle-teal.png")
    bottle((36, 36, 40), "bottle-black.png")
    lantern()
    candle()
    hand_cream()
    knife()
    cutting_board()
    jars()
    backpack((196, 88, 52), "backpack-rust.jpg")
    backpack((60, 84, 70), "backpack-forest.jpg")
    chair()
    cushion((214, 196, 170), "cushion-sand.jpg")
    cushion((120, 132, 150), "cushion-slate.jpg")
    towel()


if __name__ == "__main__":
    main()
