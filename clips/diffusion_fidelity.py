"""Product fidelity guard: does a generated shot still show the seller's product?

Two measures, both on the first, middle and last frames against the source photo:
an image-embedding cosine similarity from a local vision model (CLIP, SigLIP, DINOv2… through
transformers) when one is configured, else SSIM plus colour-histogram intersection.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from clips.diffusion_video import cover
from productreel.errors import InputError

# Defaults per method: the two scales differ (cosine of embeddings runs high for any photo of
# an object; SSIM+histogram runs lower for a product that turns or moves).
DEFAULT_THRESHOLDS = {"embedding": 0.80, "ssim-histogram": 0.45}


def probe_frames(frames: np.ndarray) -> list[int]:
    """Indices of the first, middle and last frames (without repeats)."""
    count = len(frames)
    return sorted({0, count // 2, count - 1})


def load_photo(path: Path) -> np.ndarray:
    """The product photo as RGB uint8 (transparency flattened on white, as a storefront shows it)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                base = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                image = Image.alpha_composite(base, rgba)
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise InputError(f"cannot read product photo {Path(path).name}: {exc}", where=str(path)) from exc


def color_histogram(image: np.ndarray, bins: int = 8) -> np.ndarray:
    """A normalised 3-D RGB histogram."""
    quantised = (image.reshape(-1, 3).astype(np.int32) * bins) // 256
    index = (quantised[:, 0] * bins + quantised[:, 1]) * bins + quantised[:, 2]
    hist = np.bincount(index, minlength=bins**3).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


def ssim_histogram_score(frame: np.ndarray, photo: np.ndarray) -> dict[str, float]:
    """SSIM (grey, clipped at 0) and histogram intersection of one frame against the photo, and their mean."""
    from skimage.metrics import structural_similarity

    reference = cover(photo, frame.shape[1], frame.shape[0])
    grey_a = frame.astype(np.float64) @ [0.299, 0.587, 0.114]
    grey_b = reference.astype(np.float64) @ [0.299, 0.587, 0.114]
    side = min(grey_a.shape)
    window = min(7, side if side % 2 else side - 1)
    ssim = float(structural_similarity(grey_a, grey_b, data_range=255.0, win_size=max(window, 3)))
    hist = float(np.minimum(color_histogram(frame), color_histogram(reference)).sum())
    return {"ssim": round(ssim, 4), "histogram": round(hist, 4), "score": round(0.5 * max(ssim, 0.0) + 0.5 * hist, 4)}


@lru_cache(maxsize=2)
def _vision_model(model: str):
    from transformers import AutoImageProcessor, AutoModel

    try:
        processor = AutoImageProcessor.from_pretrained(model, local_files_only=True)
        net = AutoModel.from_pretrained(model, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"fidelity model {model} is not available locally: put it in a folder (or the Hugging Face cache) "
            f"and set PRODUCTREEL_DIFFUSION_FIDELITY_MODEL to it",
            where="fidelity_model",
        ) from exc
    net.eval()
    return processor, net


def embed(images: list[np.ndarray], model: str) -> np.ndarray:
    """L2-normalised image embeddings from a local vision model."""
    import torch
    from PIL import Image

    processor, net = _vision_model(model)
    inputs = processor(images=[Image.fromarray(i) for i in images], return_tensors="pt")
    with torch.no_grad():
        if hasattr(net, "get_image_features"):  # CLIP / SigLIP: the projected image embedding
            features = net.get_image_features(**inputs)
            if not torch.is_tensor(features):  # newer transformers return an output object
                pooled = getattr(features, "pooler_output", None)
                features = pooled if pooled is not None else features[0]
        else:  # plain vision backbones (DINOv2, ViT): pooled output, else the mean token
            output = net(**inputs)
            pooled = getattr(output, "pooler_output", None)
            features = pooled if pooled is not None else output.last_hidden_state.mean(dim=1)
    features = features.float().reshape(len(images), -1)
    return torch.nn.functional.normalize(features, dim=-1).numpy()


def fidelity(frames: np.ndarray, photo_path: Path, *, model: str | None = None) -> dict:
    """Score a generated shot against the product photo: method, score (mean over probe frames), per frame."""
    photo = load_photo(photo_path)
    picks = probe_frames(frames)
    if model:
        vectors = embed([photo] + [frames[i] for i in picks], model)
        per_frame = [
            {"frame": i, "score": round(float(vectors[0] @ vectors[n + 1]), 4)} for n, i in enumerate(picks)
        ]
        method = "embedding"
    else:
        per_frame = [{"frame": i, **ssim_histogram_score(frames[i], photo)} for i in picks]
        method = "ssim-histogram"
    score = round(float(np.mean([f["score"] for f in per_frame])), 4)
    return {"method": method, "model": model, "score": score, "frames": per_frame}
