"""Find the product in each photo: a feathered cutout for studio shots, a salient box for lifestyle ones.

Studio photos (a plain or gradient backdrop, often with a soft floor shadow) are segmented with
OpenCV: a smooth background model fitted to the border, a first mask where a pixel is far from
it, refined by GrabCut, then feathered. A busy border means a lifestyle photo: the product box
comes from spectral-residual saliency and the photo is shown whole. Transparent PNGs keep their
own alpha. A seller may point `PRODUCTREEL_MATTING_MODEL` at a local ONNX matting model folder;
the project never downloads one.

Results are cached by the image's content hash under `Settings().cache_dir / "cutouts"`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from productreel import atomic
from productreel.models import Cutout
from productreel.settings import get_settings

try:
    import cv2
except ImportError:  # pragma: no cover - opencv-python-headless is a dependency
    cv2 = None

CUTOUT_VERSION = "cutout-1"
WORK = 320  # segmentation runs at this long side; the mask is scaled back up and feathered
BORDER = 0.04  # share of each side read as the backdrop
BUSY = 9.0  # residual spread (0-255 RGB) of the border around a smooth backdrop above which a photo is "lifestyle"
_LOCK = threading.Lock()


def _cache_dir() -> Path:
    try:
        from productreel.settings import Settings

        base = Path(Settings().cache_dir)
    except Exception:  # noqa: BLE001 - settings unreadable: a temp cache still avoids repeated work
        base = Path(os.environ.get("TMPDIR", "/tmp")) / "productreel-cache"
    return base / "cutouts"


def image_hash(path: Path) -> str:
    """The sha256 of the image file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cutout(path: Path | str, *, cache_dir: Path | None = None, matting_model: Path | str | None = None) -> Cutout:
    """The product's cutout in one photo (cached by content hash; the mask is a PNG beside the JSON)."""
    path = Path(path)
    sha = image_hash(path)
    model = matting_model or get_settings().matting_model or None
    folder = Path(cache_dir) if cache_dir else _cache_dir()
    tag = CUTOUT_VERSION + ("-m" + hashlib.sha256(str(model).encode()).hexdigest()[:8] if model else "")
    meta_path = folder / sha[:2] / f"{sha}-{tag}.json"
    mask_path = meta_path.with_suffix(".png")
    if meta_path.exists():
        try:
            data = json.loads(meta_path.read_text(encoding="utf-8"))
            data["image"] = str(path)
            cut = Cutout.model_validate(data)
            if cut.mask is None or Path(cut.mask).exists():
                return cut
        except (ValueError, OSError):
            pass  # a damaged cache entry is made again
    cut, mask = find_product(path, sha, matting_model=model)
    folder_ok = True
    try:
        meta_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder_ok = False
    if mask is not None:
        if folder_ok:
            png = io.BytesIO()
            Image.fromarray(mask, "L").save(png, format="PNG")
            atomic.write_bytes(mask_path, png.getvalue())
            cut = cut.model_copy(update={"mask": mask_path})
        else:
            cut = cut.model_copy(update={"mask": None, "kind": "lifestyle", "method": cut.method + "+nocache"})
    if folder_ok:
        atomic.write_text(meta_path, cut.model_dump_json())
    return cut


def load_rgba(path: Path) -> Image.Image:
    """The photo upright, as RGBA."""
    img = Image.open(path)
    img = ImageOps.exif_transpose(img)
    return img.convert("RGBA")


def mask_image(cut: Cutout) -> Image.Image | None:
    """The cutout's feathered alpha as an L image (None when it has no mask)."""
    if cut.mask is None or not Path(cut.mask).exists():
        return None
    return Image.open(cut.mask).convert("L")


def find_product(path: Path, sha: str = "", *, matting_model: str | Path | None = None) -> tuple[Cutout, np.ndarray | None]:
    """Segment one photo: (the cutout, its full-size 8-bit mask or None)."""
    try:
        img = load_rgba(path)
    except (OSError, ValueError) as exc:
        return Cutout(image=path, sha256=sha, width=0, height=0, kind="failed", box=(0, 0, 0, 0), reason=f"unreadable: {exc}"), None
    w, h = img.size
    base = dict(image=path, sha256=sha, width=w, height=h)
    if min(w, h) < 8:
        return Cutout(**base, kind="failed", box=(0, 0, w, h), reason=f"too small to find a product ({w}x{h} px)"), None
    arr = np.asarray(img)
    alpha = arr[..., 3]
    if (alpha < 250).mean() > 0.02 and _border(alpha[..., None]).mean() < 128:
        mask = alpha.copy()
        return _finish(base, arr, mask, "alpha", "alpha"), mask
    if matting_model:
        mask = _matting(arr[..., :3], Path(matting_model))
        if mask is not None:
            return _finish(base, arr, mask, "studio", f"matting:{Path(matting_model).name}"), mask
    if cv2 is None:  # pragma: no cover
        return Cutout(**base, kind="lifestyle", box=(0, 0, w, h), method="whole", coverage=1.0), None
    rgb = arr[..., :3]
    scale = WORK / max(w, h)
    small = cv2.resize(rgb, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA) if scale < 1 else rgb.copy()
    bg_model, spread = _backdrop(small)
    if spread > BUSY:
        return _lifestyle(base, rgb, small, "busy backdrop"), None
    m_small = _segment(small, bg_model)
    if m_small is None:
        return _lifestyle(base, rgb, small, "no product separated from the backdrop"), None
    mask = _feather(m_small, (w, h))
    cut = _finish(base, arr, mask, "studio", "grabcut")
    if cut.kind == "failed":
        return _lifestyle(base, rgb, small, cut.reason), None
    return cut, mask


def _border(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    b = max(1, int(round(min(h, w) * BORDER)))
    return np.concatenate([a[:b].reshape(-1, a.shape[2]), a[-b:].reshape(-1, a.shape[2]),
                           a[b:-b, :b].reshape(-1, a.shape[2]), a[b:-b, -b:].reshape(-1, a.shape[2])])


def _design(h: int, w: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Quadratic terms in normalised coordinates: a gradient or vignette backdrop fits them."""
    y = ys / max(1, h - 1) - 0.5
    x = xs / max(1, w - 1) - 0.5
    return np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], -1)


def _backdrop(small: np.ndarray) -> tuple[np.ndarray, float]:
    """A smooth backdrop fitted to the border (per-pixel RGB prediction) and the border's residual spread."""
    h, w = small.shape[:2]
    b = max(1, int(round(min(h, w) * BORDER)))
    sel = np.zeros((h, w), bool)
    sel[:b], sel[-b:], sel[:, :b], sel[:, -b:] = True, True, True, True
    ys, xs = np.nonzero(sel)
    A = _design(h, w, ys.astype(np.float64), xs.astype(np.float64))
    vals = small[ys, xs].astype(np.float64)
    coef, *_ = np.linalg.lstsq(A, vals, rcond=None)
    res = vals - A @ coef
    # A robust spread: the border may be touched by the product itself in a tight crop.
    spread = float(np.median(np.abs(res)) * 1.4826 * 3)
    yy, xx = np.mgrid[0:h, 0:w]
    model = (_design(h, w, yy.ravel().astype(np.float64), xx.ravel().astype(np.float64)) @ coef).reshape(h, w, 3)
    return np.clip(model, 0, 255), spread


def _segment(small: np.ndarray, bg: np.ndarray) -> np.ndarray | None:
    """A binary product mask at working size: far from the backdrop, soft shadows excluded, refined by GrabCut."""
    h, w = small.shape[:2]
    f = small.astype(np.float32)
    diff = f - bg.astype(np.float32)
    dist = np.sqrt((diff ** 2).sum(-1))
    # A shadow is the backdrop darkened with its hue kept: small chroma change, lower brightness.
    lum_p, lum_b = f.mean(-1), bg.mean(-1).astype(np.float32) + 1e-3
    ratio = lum_p / lum_b
    chroma = np.sqrt(((f / lum_p[..., None].clip(1) - bg / lum_b[..., None]) ** 2).sum(-1)) * 100
    shadow = (ratio > 0.45) & (ratio < 0.98) & (chroma < 6)
    strong0 = dist > 40
    if strong0.any():
        # Studio shadows fall on the floor: only backdrop-toned darkening low on the product (or below it)
        # is shadow; a grey handle beside a white mug is product.
        ys = np.nonzero(strong0.any(axis=1))[0]
        floor = ys.min() + 0.8 * (ys.max() - ys.min())
        shadow &= (np.arange(h)[:, None] > floor)
    strong = strong0 & ~shadow
    weak = (dist > 11) & ~shadow
    if strong.sum() < 0.002 * h * w:
        strong = weak
    if weak.sum() < 0.002 * h * w:
        return None
    gc = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    gc[weak] = cv2.GC_PR_FGD
    core = cv2.erode(strong.astype(np.uint8), np.ones((3, 3), np.uint8))
    gc[core > 0] = cv2.GC_FGD
    b = max(1, int(round(min(h, w) * 0.015)))
    far = (dist < 8) | shadow
    gc[far & ~weak] = cv2.GC_BGD
    gc[:b] = gc[-b:] = cv2.GC_BGD
    gc[:, :b] = gc[:, -b:] = cv2.GC_BGD
    if not (gc == cv2.GC_FGD).any() and not (gc == cv2.GC_PR_FGD).any():
        return None
    try:
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.grabCut(np.ascontiguousarray(small), gc, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
        m = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    except cv2.error:
        m = weak.astype(np.uint8)
    # GrabCut's colour model may give a backdrop-toned part (a pale handle) to the backdrop; parts clearly
    # off the backdrop model that touch the product are product.
    n_w, lab_w = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    touching = np.unique(lab_w[(cv2.dilate(m, np.ones((9, 9), np.uint8)) > 0) & (lab_w > 0)])
    if touching.size:
        added = np.isin(lab_w, touching).astype(np.uint8)
        # Bridge the hairline between a part and the body, so they count as one object below.
        m = m | added | (cv2.morphologyEx(m | added, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)) & cv2.dilate(added, np.ones((5, 5), np.uint8)))
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = [i + 1 for i, a in enumerate(areas) if a >= max(12, 0.08 * areas.max())]
    m = np.isin(labels, keep).astype(np.uint8)
    # Fill holes (a mug's glossy highlight is still the mug).
    flood = m.copy()
    ff = np.zeros((h + 2, w + 2), np.uint8)
    cv2.floodFill(flood, ff, (0, 0), 1)
    return m | (1 - flood)


def _feather(m_small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The working-size mask at full size with soft edges (a 1.5-2 px feather at the photo's scale)."""
    w, h = size
    soft = cv2.GaussianBlur(m_small.astype(np.float32), (0, 0), 0.8)
    big = cv2.resize(soft, (w, h), interpolation=cv2.INTER_CUBIC)
    sigma = max(0.8, max(w, h) / 900)
    big = cv2.GaussianBlur(np.clip(big, 0, 1), (0, 0), sigma)
    # Steepen the ramp a little so the edge is soft but the product's body stays fully opaque.
    big = np.clip((big - 0.5) * 1.6 + 0.5, 0, 1)
    return (big * 255 + 0.5).astype(np.uint8)


def _palette(rgb: np.ndarray, mask: np.ndarray | None, k: int = 3) -> list[tuple[int, int, int]]:
    px = rgb.reshape(-1, 3) if mask is None else rgb[mask > 200]
    if len(px) < k:
        return []
    if len(px) > 4000:
        px = px[np.linspace(0, len(px) - 1, 4000).astype(int)]
    if cv2 is None:  # pragma: no cover
        return [tuple(int(v) for v in np.median(px, 0))]
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, labels, centers = cv2.kmeans(px.astype(np.float32), k, None, crit, 2, cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(labels.ravel(), minlength=k)
    return [tuple(int(v) for v in centers[i]) for i in np.argsort(-counts)]


def _finish(base: dict, arr: np.ndarray, mask: np.ndarray, kind: str, method: str) -> Cutout:
    w, h = base["width"], base["height"]
    on = mask > 127
    cov = float(on.mean())
    if cov < 0.004 or cov > 0.96:
        return Cutout(**base, kind="failed", box=(0, 0, w, h), coverage=cov, method=method,
                      reason=f"the product covers {cov:.1%} of the photo")
    ys, xs = np.nonzero(on)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    back = None
    if kind != "alpha":
        border = _border(arr[..., :3])
        back = tuple(int(v) for v in np.median(border, 0))
    return Cutout(**base, kind=kind, box=box, background=back, palette=_palette(arr[..., :3], mask), coverage=round(cov, 4),
                  method=method)


def _lifestyle(base: dict, rgb: np.ndarray, small: np.ndarray, why: str) -> Cutout:
    """A busy photo: the salient box (spectral residual saliency), the photo used whole."""
    w, h = base["width"], base["height"]
    sal = saliency(small)
    thr = max(float(sal.mean() * 2.0), float(np.percentile(sal, 80)))
    on = sal >= thr
    sh, sw = small.shape[:2]
    if on.sum() < 4:
        box = (0, 0, w, h)
    else:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(on.astype(np.uint8), connectivity=8)
        # The box around the strongest blobs (by summed saliency), so scattered texture is left out.
        scores = [(float(sal[labels == i].sum()), i) for i in range(1, n)]
        scores.sort(reverse=True)
        total = sum(s for s, _ in scores) or 1.0
        keep, acc = [], 0.0
        for s, i in scores:
            keep.append(i)
            acc += s
            if acc >= 0.7 * total:
                break
        x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in keep)
        y0 = min(stats[i, cv2.CC_STAT_TOP] for i in keep)
        x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in keep)
        y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in keep)
        fx, fy = w / sw, h / sh
        box = (int(x0 * fx), int(y0 * fy), int(min(w, x1 * fx)), int(min(h, y1 * fy)))
    cov = (box[2] - box[0]) * (box[3] - box[1]) / max(1, w * h)
    return Cutout(**base, kind="lifestyle", box=box, palette=_palette(small, None), coverage=round(cov, 4), method="saliency",
                  reason=why)


def saliency(rgb: np.ndarray) -> np.ndarray:
    """Spectral-residual saliency (Hou & Zhang 2007) of a small RGB image, as floats the image's size."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    h, w = gray.shape
    g = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA)
    f = np.fft.fft2(g)
    amp = np.log(np.abs(f) + 1e-6)
    phase = np.angle(f)
    resid = amp - cv2.blur(amp, (3, 3))
    s = np.abs(np.fft.ifft2(np.exp(resid + 1j * phase))) ** 2
    s = cv2.GaussianBlur(s.astype(np.float32), (0, 0), 2.5)
    s = cv2.resize(s, (w, h), interpolation=cv2.INTER_LINEAR)
    return s / (s.max() + 1e-9)


def _matting(rgb: np.ndarray, folder: Path) -> np.ndarray | None:
    """A learned matte from a local ONNX model (model.onnx in `folder`), or None when it cannot run."""
    onnx = folder / "model.onnx" if folder.is_dir() else folder
    if not onnx.exists():
        return None
    try:
        net = cv2.dnn.readNetFromONNX(str(onnx))
        h, w = rgb.shape[:2]
        blob = cv2.dnn.blobFromImage(rgb, 1 / 255.0, (320, 320), swapRB=False)
        net.setInput(blob)
        out = np.squeeze(net.forward()).astype(np.float32)
        if out.ndim != 2:
            return None
        out = (out - out.min()) / max(1e-6, float(out.max() - out.min()))
        return (cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR) * 255).astype(np.uint8)
    except cv2.error:
        return None
