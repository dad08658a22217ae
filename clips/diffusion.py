"""Diffusion backend: generated shots from the product photo with local diffusers models.

    resolve_model   local folder or Hugging Face id in the local cache -> ResolvedModel (family from model_index.json)
    load_pipeline   one pipeline per process and settings, CUDA optimisations from DiffusionSettings
    generate_shots  batched image-to-video (or text-to-video) with a product-fidelity guard, cached MP4 per seed
    fit_frames      a generated MP4 fitted to an output format (cover-crop, frame-rate conversion)

A model never draws text or prices: generated shots are frames only, and the compose renderer
puts the real title and price over them. Nothing is downloaded unless ``allow_downloads`` is set.
Plain functions, no Prefect: flows/ wraps generation in a task under the ``gpu`` concurrency limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from clips.diffusion_card import model_rights
from clips.diffusion_tiny import CARD, build_tiny_pipeline
from clips.diffusion_video import fit_frames, write_mp4
from productreel import atomic
from productreel.errors import InputError, RenderError, TransientError
from productreel.models import Finding, Shot, Storyboard, stable_hash
from productreel.settings import DiffusionSettings, Settings

__all__ = [
    "DIGITAL_SOURCE_TYPE",
    "DiffusionSettings",
    "GeneratedShot",
    "ResolvedModel",
    "ShotRequest",
    "build_tiny_pipeline",
    "count_parameters",
    "fill_generated_shots",
    "fit_frames",
    "generate_shot",
    "generate_shots",
    "load_pipeline",
    "model_key",
    "optimise_pipeline",
    "provenance_assets",
    "resolve_model",
    "temporal_ratio",
]

log = logging.getLogger(__name__)

# IPTC digital source types: a clip that mixes generated shots with real photos and text is a
# composite; each generated shot on its own is trained algorithmic media.
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
SHOT_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

# What each family does and which optimisations apply to it is data (diffusion_families.yaml): the
# family is read from model_index.json's `_class_name`, never guessed from a name.
FAMILIES_FILE = Path(__file__).resolve().parent / "diffusion_families.yaml"
_TABLE: dict[str, Any] = yaml.safe_load(FAMILIES_FILE.read_text(encoding="utf-8"))
PIPELINE_TABLE: dict[str, dict[str, Any]] = _TABLE["pipelines"]
FAMILIES: dict[str, dict[str, Any]] = _TABLE["families"]
# model_index.json `_class_name` -> (family, what the pipeline does).
PIPELINES: dict[str, tuple[str, str]] = {name: (e["family"], e["task"]) for name, e in PIPELINE_TABLE.items()}
# Generation defaults per family: native area (the usual resolution), frame rate, steps, guidance.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {name: f["defaults"] for name, f in FAMILIES.items()}
CACHE_METHODS = ("first_block", "mag", "taylorseer")

FALLBACK_PROMPT = "the product from the photo, turning slowly in soft studio light, smooth camera motion"
FALLBACK_NEGATIVE = "text, letters, watermark, logo, price tag, blurry, distorted, deformed, low quality"


class ShotRequest(BaseModel):
    """One shot to generate, at an output size and length."""

    shot: Shot
    width: int
    height: int
    fps: int = 30
    duration: float = 2.0
    image_path: Path | None = None
    product: str | None = None
    market: str | None = None


class GeneratedShot(BaseModel):
    """A generated MP4 (or a fallback to a composed shot) and what made it."""

    video: Path | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    fallback: bool = False
    finding: Finding | None = None


@dataclass
class ResolvedModel:
    """A model found on disk: where, which revision, and which pipeline family."""

    name: str
    path: Path
    revision: str
    class_name: str
    family: str
    task: str
    index: dict = field(default_factory=dict)
    card: dict = field(default_factory=dict)

    @property
    def tiny(self) -> bool:
        """True for a tiny random pipeline made by build_tiny_pipeline."""
        return bool(self.card.get("tiny"))


# ---------------------------------------------------------------------------------------------
# Finding the model


def _missing(model: str) -> InputError:
    return InputError(
        f"diffusion model {model} not found locally: pass a diffusers folder, or fetch it once with "
        f"`hf download {model}` (or set PRODUCTREEL_ALLOW_DOWNLOADS=true); "
        f"for a smoke test make one with `productreel models tiny DIR`",
        where="model",
    )


def _local_revision(path: Path) -> str:
    """A content revision for a local folder: configs by content, weights by content when small."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    weights_total = sum(p.stat().st_size for p in files if p.suffix in {".safetensors", ".bin", ".pt", ".gguf"})
    for file in files:
        rel = file.relative_to(path).as_posix()
        digest.update(f"{rel}\0{file.stat().st_size}\0".encode())
        if file.suffix in {".json", ".txt", ".model"} or weights_total <= 64 * 2**20:
            digest.update(file.read_bytes())
    return "local-" + digest.hexdigest()[:16]


def resolve_model(model: str | None, *, settings: Settings, diffusion: DiffusionSettings | None = None) -> ResolvedModel:
    """Find ``model`` (a local folder, or a Hugging Face id in the local cache) and read its family."""
    diffusion = diffusion or settings.diffusion
    if not model:
        raise InputError(
            "no diffusion model set: pass --model DIR (a diffusers folder or a cached Hugging Face id), "
            "or make a tiny one with `productreel models tiny DIR`",
            where="model",
        )
    local = Path(model).expanduser()
    if local.exists():
        if not (local / "model_index.json").is_file():
            raise InputError(f"{model} has no model_index.json: it is not a diffusers pipeline folder", where="model")
        path, revision = local.resolve(), _local_revision(local)
    elif "/" in model and not model.startswith((".", "/", "~")):
        path, revision = _from_hub(model, settings=settings, diffusion=diffusion)
    else:
        raise _missing(model)
    index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
    class_name = index.get("_class_name", "")
    if class_name not in PIPELINES:
        raise InputError(
            f"model {model} is a {class_name or 'pipeline of no class'}: the diffusion backend runs "
            f"{', '.join(sorted(PIPELINES))}",
            where="model",
        )
    family, task = PIPELINES[class_name]
    card_path = path / CARD
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    return ResolvedModel(model, path, revision, class_name, family, task, index, card)


def _fetch_card(repo_id: str, revision: str | None) -> None:
    """The model card too (DiffusionPipeline.download leaves it out): LIC-1 reads the licence from it."""
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(repo_id, "README.md", revision=revision)
    except Exception:  # no card on the Hub: LIC-1 names the model as having no licence
        log.warning("model %s has no model card (README.md) on the Hub: its licence is unknown", repo_id)


def _from_hub(repo_id: str, *, settings: Settings, diffusion: DiffusionSettings) -> tuple[Path, str]:
    """A hub id's snapshot folder from the local cache (downloading only when allowed)."""
    from huggingface_hub import snapshot_download

    try:
        if settings.allow_downloads:
            from diffusers import DiffusionPipeline

            folder = DiffusionPipeline.download(repo_id, revision=diffusion.revision)
            _fetch_card(repo_id, diffusion.revision)
        else:
            folder = snapshot_download(repo_id, revision=diffusion.revision, local_files_only=True)
    except Exception as exc:  # hub errors differ by version: offline, not cached, bad revision
        raise _missing(repo_id) from exc
    folder = Path(folder)
    if not (folder / "model_index.json").is_file():
        raise _missing(repo_id)
    # The snapshot folder is named after the commit: the exact revision of these weights.
    return folder, folder.name


# ---------------------------------------------------------------------------------------------
# Loading


def count_parameters(path: Path) -> int:
    """Parameters of a pipeline's models, counted from their configs on the meta device (no weights read)."""
    import torch

    index = json.loads((Path(path) / "model_index.json").read_text(encoding="utf-8"))
    total = 0
    for name, spec in index.items():
        if name.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or not all(spec):
            continue
        library, class_name = spec
        folder = Path(path) / name
        if not (folder / "config.json").is_file():
            continue
        try:
            with torch.device("meta"):
                module = _instantiate_empty(library, class_name, folder)
        except Exception:  # an unusual component: judge it by its weight files instead
            module = None
        if module is not None and hasattr(module, "parameters"):
            total += sum(p.numel() for p in module.parameters())
        else:
            total += sum(f.stat().st_size for f in folder.glob("*.safetensors")) // 2
    return total


def _instantiate_empty(library: str, class_name: str, folder: Path):
    if library == "diffusers":
        import diffusers

        cls = getattr(diffusers, class_name)
        return cls.from_config(cls.load_config(folder))
    if library == "transformers":
        import transformers

        cls = getattr(transformers, class_name)
        config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
        return cls(config)
    return None


def _device(diffusion: DiffusionSettings) -> str:
    import torch

    if diffusion.device:
        return diffusion.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pipeline_class(resolved: ResolvedModel, task: str) -> str:
    """Which pipeline class runs ``task`` ("i2v" | "t2v") with this checkpoint's components."""
    family = FAMILIES[resolved.family]
    if family.get("task_from") != "configs":
        if task == resolved.task:
            return resolved.class_name
        # Families whose two tasks share every component name the other task's class; the class only changes the call.
        other = (family.get("pipelines") or {}).get(task)
        if other:
            return other
        what = "image-to-video" if resolved.task == "i2v" else "text-to-video"
        need = "a background shot without a photo needs a text-to-video model" if task == "t2v" else \
            "a shot from the product photo needs an image-to-video checkpoint"
        raise InputError(f"model {resolved.name} is {what} only: {need}", where="model")
    # Wan: one class per task, and the task a checkpoint can do is read from its configs.
    transformer = _subconfig(resolved.path, "transformer") or _subconfig(resolved.path, "transformer_2")
    vae = _subconfig(resolved.path, "vae")
    z_dim = vae.get("z_dim", 16)
    in_channels = transformer.get("in_channels", z_dim)
    expand = bool(resolved.index.get("expand_timesteps"))  # Wan 2.2 TI2V-5B: one model, both tasks
    if task == "i2v":
        if resolved.task == "i2v" or expand or in_channels > z_dim:
            return "WanImageToVideoPipeline"
        raise InputError(
            f"model {resolved.name} is text-to-video only: a shot from the product photo needs an "
            f"image-to-video Wan checkpoint (Wan2.1-I2V, Wan2.2-I2V-A14B or Wan2.2-TI2V-5B)",
            where="model",
        )
    if in_channels == z_dim:
        return "WanPipeline"
    raise InputError(
        f"model {resolved.name} is image-to-video only: a background shot without a photo needs a text-to-video model",
        where="model",
    )


def _subconfig(path: Path, name: str) -> dict:
    config = path / name / "config.json"
    return json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}


def _dtype_arg() -> str:
    """diffusers renamed ``torch_dtype`` to ``dtype`` (0.36+); use whichever this version takes."""
    try:
        from diffusers.utils.deprecation_utils import _TORCH_DTYPE_DEPRECATION_MESSAGE  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"


_DTYPE_ARG = ""  # filled on first load, so importing this module stays light
_PIPELINES: dict[tuple, Any] = {}
_LOCK = threading.Lock()
_CALL_LOCK = threading.RLock()


def load_pipeline(
    model: str | None = None,
    *,
    settings: Settings,
    diffusion: DiffusionSettings | None = None,
    task: str = "i2v",
):
    """The diffusers pipeline for ``model`` (default: settings.model), loaded once per process and reused."""
    diffusion = diffusion or settings.diffusion
    resolved = resolve_model(model or settings.model, settings=settings, diffusion=diffusion)
    return _load(resolved, diffusion, task)


def _optimisation_key(diffusion: DiffusionSettings, steps: int) -> tuple:
    return (
        diffusion.dtype,
        diffusion.cache_method,
        diffusion.cache_threshold,
        tuple(diffusion.mag_ratios or ()),
        steps if diffusion.cache_method == "mag" else None,
        diffusion.compile,
        diffusion.offload,
        diffusion.vae_tiling,
    )


def _load(resolved: ResolvedModel, diffusion: DiffusionSettings, task: str):
    import torch

    device = _device(diffusion)
    class_name = _pipeline_class(resolved, task)
    steps = _plan_defaults(resolved, diffusion)["steps"]
    base_key = (str(resolved.path), resolved.revision, device, _optimisation_key(diffusion, steps))
    global _DTYPE_ARG
    _DTYPE_ARG = _DTYPE_ARG or _dtype_arg()
    with _LOCK:
        if (pipe := _PIPELINES.get(base_key + (class_name,))) is not None:
            return pipe
        import diffusers

        cls = getattr(diffusers, class_name)
        sibling = next((p for k, p in _PIPELINES.items() if k[:-1] == base_key), None)
        if sibling is not None:
            # Same weights, other task: share every module instead of loading them again. Not
            # from_pipe, which casts all shared modules to one dtype (Wan keeps its VAE in float32).
            pipe = _share(cls, sibling)
        else:
            # One model per process: a different model or optimisation replaces the loaded one
            # rather than sitting beside it in GPU memory.
            _evict()
            if device == "cpu":
                params = count_parameters(resolved.path)
                if params > diffusion.cpu_max_params:
                    raise InputError(
                        f"model {resolved.name} has {params / 1e9:.1f}B parameters: on a CPU one shot would take "
                        f"hours; run it on a CUDA machine, or use a tiny one (`productreel models tiny DIR`)",
                        where="model",
                    )
            dtype = getattr(torch, diffusion.dtype) if device.startswith("cuda") else torch.float32
            kwargs: dict[str, Any] = {_DTYPE_ARG: dtype, "local_files_only": True}
            if FAMILIES[resolved.family].get("vae_float32") and device.startswith("cuda"):
                # Wan's VAE loses detail in bf16; the Wan model cards load it in float32.
                vae_cls = getattr(diffusers, resolved.index["vae"][1])
                kwargs["vae"] = vae_cls.from_pretrained(
                    resolved.path, subfolder="vae", local_files_only=True, **{_DTYPE_ARG: torch.float32}
                )
            try:
                with _quiet_loading():
                    pipe = cls.from_pretrained(resolved.path, **kwargs)
            except (OSError, ValueError) as exc:
                raise InputError(f"cannot load model {resolved.name}: {str(exc).splitlines()[0]}", where="model") from exc
            optimise_pipeline(pipe, diffusion, device=device, steps=steps, name=resolved.name, family=resolved.family)
        pipe.set_progress_bar_config(disable=True)
        pipe._productreel = {"model": resolved, "device": device, "class": class_name}
        _PIPELINES[base_key + (class_name,)] = pipe
        return pipe


def _share(cls, sibling):
    """A pipeline of class ``cls`` built on the modules (and hooks) of an already loaded ``sibling``."""
    import inspect

    params = inspect.signature(cls.__init__).parameters
    components = {name: module for name, module in sibling.components.items() if name in params}
    extra = {
        name: sibling.config[name]
        for name in params
        if name in sibling.config and name not in components and not name.startswith("_")
    }
    pipe = cls(**components, **extra)
    pipe._productreel_offload = getattr(sibling, "_productreel_offload", "none")
    return pipe


def _evict() -> None:
    """Drop every loaded pipeline and give its memory back."""
    if _PIPELINES:
        _PIPELINES.clear()
        _free_cuda()


@contextlib.contextmanager
def _quiet_loading():
    """No loading progress bars from diffusers/transformers: the CLI draws its own."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        diffusers_logging.enable_progress_bar()
        transformers_logging.enable_progress_bar()


def _transformers(pipe) -> list:
    return [m for m in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)) if m is not None]


def _choose_offload(pipe, diffusion: DiffusionSettings) -> str:
    """Offload only when the weights would not fit: none, whole models (model), or layer groups (group)."""
    import torch

    if diffusion.offload != "auto":
        return diffusion.offload
    free, _total = torch.cuda.mem_get_info()
    modules = [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]
    sizes = {id(m): sum(p.numel() * p.element_size() for p in m.parameters()) for m in modules}
    # Weights already on the GPU count as room they would keep.
    resident = sum(p.numel() * p.element_size() for m in modules for p in m.parameters() if p.device.type == "cuda")
    # Leave room for activations and the VAE decode: about a quarter of the memory.
    budget = 0.75 * (free + resident)
    if sum(sizes.values()) <= budget:
        return "none"
    if max(sizes.values(), default=0) <= budget:
        return "model"
    return "group"


def family_of(pipe) -> str:
    """The family of a pipeline object, from the table of pipeline classes."""
    entry = PIPELINE_TABLE.get(type(pipe).__name__)
    if entry is None:
        raise InputError(f"{type(pipe).__name__} is not a pipeline the diffusion backend runs", where="model")
    return entry["family"]


def optimise_pipeline(
    pipe, diffusion: DiffusionSettings, *, device: str, steps: int, name: str = "", family: str | None = None
) -> None:
    """Device placement, VAE tiling, cache hooks and compilation of a loaded pipeline, as the settings and its family allow."""
    import torch

    family = family or family_of(pipe)
    allowed = FAMILIES[family]
    offload = "none"
    if device.startswith("cuda"):
        offload = _choose_offload(pipe, diffusion)
        if offload != "none" and offload not in allowed.get("offload", ["model", "group"]):
            offload = allowed["offload"][0] if allowed.get("offload") else "model"
        if offload == "model":
            pipe.enable_model_cpu_offload()
        elif offload == "group":
            pipe.enable_group_offload(
                onload_device=torch.device(device),
                offload_device=torch.device("cpu"),
                offload_type="leaf_level",
                use_stream=True,
            )
        else:
            pipe.to(device)
        if diffusion.vae_tiling and hasattr(pipe.vae, "enable_tiling"):
            pipe.vae.enable_tiling()
    else:
        pipe.to(device)
    pipe._productreel_offload = offload
    config = _cache_config(diffusion, steps, family)
    if config is not None:
        for transformer in _transformers(pipe):
            transformer.enable_cache(config)
    if diffusion.compile and device.startswith("cuda"):
        if allowed.get("compile") != "regional":
            log.warning("not compiling %s: the %s transformer has no repeated blocks to compile", name, family)
        elif offload == "none":
            # The cache hooks decide per step whether to run the blocks: a graph break by design.
            fullgraph = config is None
            for transformer in _transformers(pipe):
                transformer.compile_repeated_blocks(fullgraph=fullgraph)
        else:
            log.warning("not compiling %s: compile_repeated_blocks is skipped while offloading", name)


def cache_method(diffusion: DiffusionSettings, family: str) -> str:
    """The cache hook a family runs with these settings: "auto" is the family's own; one that does not apply is an error."""
    method = diffusion.cache_method
    allowed = FAMILIES[family].get("caches", [])
    if method == "auto":
        return FAMILIES[family].get("cache") or "none"
    if method != "none" and method not in allowed:
        raise InputError(
            f"cache_method {method!r} does not apply to {family} models: use "
            f"{', '.join(['auto', *allowed, 'none'])} (clips/diffusion_families.yaml)",
            where="cache_method",
        )
    return method


def _cache_config(diffusion: DiffusionSettings, steps: int, family: str):
    """The diffusers cache config the settings ask for on this family, or None."""
    method = cache_method(diffusion, family)
    if method == "taylorseer":
        from diffusers import TaylorSeerCacheConfig

        # Full steps first, then a prediction between full steps: the paper's settings for video.
        return TaylorSeerCacheConfig(cache_interval=diffusion.cache_interval, disable_cache_before_step=3)
    if method == "first_block":
        from diffusers import FirstBlockCacheConfig

        return FirstBlockCacheConfig(threshold=diffusion.cache_threshold or 0.05)
    if method == "mag":
        from diffusers import MagCacheConfig

        if not diffusion.mag_ratios:
            raise InputError(
                "MagCache needs the model's magnitude ratios: set PRODUCTREEL_DIFFUSION_MAG_RATIOS "
                "(a JSON list from one calibration run), or use cache_method=first_block",
                where="cache_method",
            )
        return MagCacheConfig(
            threshold=diffusion.cache_threshold or 0.06,
            num_inference_steps=steps,
            mag_ratios=list(diffusion.mag_ratios),
        )
    return None


# ---------------------------------------------------------------------------------------------
# Planning a shot


def _plan_defaults(resolved: ResolvedModel, diffusion: DiffusionSettings) -> dict[str, Any]:
    """Generation parameters: settings first, then the model card, then the family defaults."""
    family = FAMILY_DEFAULTS[resolved.family]
    card = resolved.card
    pick = lambda name: next(v for v in (getattr(diffusion, name, None), card.get(name), family.get(name)) if v is not None)  # noqa: E731
    plan = {name: pick(name) for name in ("max_area", "fps", "max_frames", "steps", "guidance")}
    plan["max_sequence_length"] = diffusion.max_sequence_length or card.get("max_sequence_length")
    plan["timesteps"] = diffusion.timesteps or card.get("timesteps")
    if plan["timesteps"]:
        plan["steps"] = len(plan["timesteps"])
    plan["multiple"] = family["multiple"]
    return plan


def generation_size(width: int, height: int, max_area: int, multiple: int) -> tuple[int, int]:
    """A generation size with the output's aspect ratio, at most ``max_area``, in multiples of ``multiple``."""
    scale = min(1.0, (max_area / (width * height)) ** 0.5)
    gen_w = max(multiple, int(round(width * scale / multiple)) * multiple)
    gen_h = max(multiple, int(round(height * scale / multiple)) * multiple)
    return gen_w, gen_h


def frame_count(duration: float, fps: int, temporal: int, max_frames: int) -> int:
    """Frames to generate for ``duration``: k*temporal+1 (what the video VAEs take), capped at max_frames."""
    wanted = max(2, int(round(duration * fps)) + 1)
    count = ((wanted - 1 + temporal - 1) // temporal) * temporal + 1
    cap = ((max_frames - 1) // temporal) * temporal + 1
    return max(temporal + 1, min(count, cap))


def _temporal_ratio(pipe) -> int:
    return int(getattr(pipe, "vae_temporal_compression_ratio", None) or getattr(pipe, "vae_scale_factor_temporal", 4))


def _vae_config(resolved: ResolvedModel) -> dict[str, Any]:
    """The VAE's config with its class defaults filled in, read without loading any weights."""
    import inspect

    import diffusers

    config = _subconfig(resolved.path, "vae")
    cls = getattr(diffusers, config.get("_class_name", ""), None)
    defaults = {}
    if cls is not None:
        defaults = {
            name: p.default
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
    return {**defaults, **config}


def temporal_ratio(resolved: ResolvedModel) -> int:
    """Frames per latent frame of the model's VAE (LTX: 8, Wan: 4), from its config: no weights are read."""
    how = FAMILIES[resolved.family].get("temporal")
    vae = _vae_config(resolved)
    if how == "ltx_config":
        return int(vae.get("patch_size_t", 1)) * 2 ** sum(bool(x) for x in vae.get("spatio_temporal_scaling", ()))
    if how == "wan_config":
        return int(vae.get("scale_factor_temporal", 4))
    # The VAE class itself says (its temporal_compression_ratio), built on the meta device from the config.
    import diffusers
    import torch

    cls = getattr(diffusers, vae.get("_class_name", ""))
    with torch.device("meta"):
        module = cls.from_config({k: v for k, v in vae.items() if not k.startswith("_")})
    return int(getattr(module, "temporal_compression_ratio", None) or getattr(module.config, "temporal_compression_ratio", 4))


def _file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _base_seed(request: ShotRequest, image_hash: str | None) -> int:
    if request.shot.seed is not None:
        return int(request.shot.seed)
    # Stable per product photo and prompt, so reruns hit the cache and reviews are reproducible.
    return int(stable_hash([request.shot.prompt, request.shot.negative_prompt, image_hash, request.product])[:8], 16)


def _fidelity_threshold(resolved: ResolvedModel, diffusion: DiffusionSettings) -> float:
    from clips.diffusion_fidelity import DEFAULT_THRESHOLDS

    if diffusion.fidelity_threshold is not None:
        return diffusion.fidelity_threshold
    if "fidelity_threshold" in resolved.card:
        return float(resolved.card["fidelity_threshold"])
    return DEFAULT_THRESHOLDS["embedding" if diffusion.fidelity_model else "ssim-histogram"]


def model_key(settings: Settings, diffusion: DiffusionSettings | None = None) -> dict[str, Any]:
    """Everything about the model and its settings that changes a generated shot (for the job key)."""
    diffusion = diffusion or settings.diffusion
    resolved = resolve_model(settings.model, settings=settings, diffusion=diffusion)
    plan = _plan_defaults(resolved, diffusion)
    return {
        "backend": "diffusion",
        "model": resolved.name,
        "revision": resolved.revision,
        "family": resolved.family,
        "pipeline": resolved.class_name,
        "steps": plan["steps"],
        "timesteps": plan["timesteps"],
        "guidance": plan["guidance"],
        "max_area": plan["max_area"],
        "fps": plan["fps"],
        "cache_method": cache_method(diffusion, resolved.family),
        "cache_threshold": diffusion.cache_threshold,
        "fidelity": {
            "method": "embedding" if diffusion.fidelity_model else "ssim-histogram",
            "model": diffusion.fidelity_model,
            "threshold": _fidelity_threshold(resolved, diffusion),
            "retries": diffusion.fidelity_retries,
        },
    }


# ---------------------------------------------------------------------------------------------
# Generating


@dataclass
class _Job:
    index: int
    request: ShotRequest
    task: str
    prompt: str
    negative: str
    width: int
    height: int
    frames: int
    image: Any  # PIL image already cover-cropped to width x height, or None
    image_hash: str | None
    base_seed: int
    attempts: list[dict] = field(default_factory=list)
    done: GeneratedShot | None = None

    @property
    def seed(self) -> int:
        return self.base_seed + len(self.attempts)


def generate_shot(
    shot: Shot,
    *,
    width: int,
    height: int,
    fps: int,
    duration: float,
    settings: Settings,
    image_path: Path | None = None,
    diffusion: DiffusionSettings | None = None,
    product: str | None = None,
    market: str | None = None,
) -> GeneratedShot:
    """Generate one shot (image-to-video from the photo, else text-to-video) with the fidelity guard."""
    request = ShotRequest(
        shot=shot, width=width, height=height, fps=fps, duration=duration,
        image_path=image_path, product=product, market=market,
    )
    return generate_shots([request], settings=settings, diffusion=diffusion)[0]


def generate_shots(
    requests: list[ShotRequest], *, settings: Settings, diffusion: DiffusionSettings | None = None
) -> list[GeneratedShot]:
    """Generate several shots, batching those of one size into one pipeline call; results in request order."""
    from clips.diffusion_fidelity import load_photo

    diffusion = diffusion or settings.diffusion
    resolved = resolve_model(settings.model, settings=settings, diffusion=diffusion)
    plan = _plan_defaults(resolved, diffusion)
    threshold = _fidelity_threshold(resolved, diffusion)
    out_dir = Path(settings.cache_dir) / "generated"
    temporal = temporal_ratio(resolved)
    jobs: list[_Job] = []
    for index, request in enumerate(requests):
        image_path = request.image_path or request.shot.image
        task = "i2v" if image_path else "t2v"
        _pipeline_class(resolved, task)  # a model that cannot do this task fails here, before any work
        gen_w, gen_h = generation_size(request.width, request.height, plan["max_area"], plan["multiple"])
        # From the VAE config, so a rerun whose shots are all cached never loads the weights.
        frames = frame_count(request.duration, plan["fps"], temporal, plan["max_frames"])
        image = image_hash = None
        if image_path:
            from PIL import Image

            from clips.diffusion_video import cover

            # Crop the photo to the generation aspect here: the pipelines would stretch it.
            image = Image.fromarray(cover(load_photo(Path(image_path)), gen_w, gen_h))
            image_hash = _file_hash(Path(image_path))
        prompt = request.shot.prompt.strip() or FALLBACK_PROMPT
        negative = request.shot.negative_prompt.strip() or FALLBACK_NEGATIVE
        jobs.append(
            _Job(index, request, task, prompt, negative, gen_w, gen_h, frames, image, image_hash,
                 _base_seed(request, image_hash))
        )
    pending = list(jobs)
    while pending:
        for group in _groups(pending, resolved.family):
            _run_group(group, resolved, diffusion, plan, out_dir)
        retry = []
        for job in pending:
            last = job.attempts[-1]
            score = last["fidelity"]["score"] if last.get("fidelity") else None
            if score is None or score >= threshold:
                job.done = _result(job, resolved, diffusion, plan, threshold, video=Path(last["video"]))
            elif len(job.attempts) > diffusion.fidelity_retries:
                job.done = _fallback(job, resolved, diffusion, plan, threshold)
            else:
                retry.append(job)
        pending = retry
    return [job.done for job in jobs]


def _groups(jobs: list[_Job], family: str) -> list[list[_Job]]:
    """Jobs that one pipeline call can take together: same task, size and length (same photo where one conditions a call)."""
    groups: dict[tuple, list[_Job]] = {}
    per_call = FAMILIES[family].get("image") == "per_call"
    for job in jobs:
        # Wan's image-to-video conditions a whole batch on one photo; LTX takes a photo per video.
        photo = job.image_hash if per_call else None
        groups.setdefault((job.task, job.width, job.height, job.frames, photo), []).append(job)
    return list(groups.values())


def _cache_path(job: _Job, resolved: ResolvedModel, diffusion: DiffusionSettings, plan: dict, out_dir: Path) -> Path:
    key = stable_hash(
        {
            "model": resolved.revision,
            "pipeline": _pipeline_class(resolved, job.task),
            "prompt": job.prompt,
            "negative": job.negative,
            "seed": job.seed,
            "size": [job.width, job.height, job.frames, plan["fps"]],
            "steps": plan["steps"],
            "timesteps": plan["timesteps"],
            "guidance": plan["guidance"],
            "cache": [cache_method(diffusion, resolved.family), diffusion.cache_threshold],
            "image": job.image_hash,
        }
    )
    return out_dir / f"{key}.mp4"


def _run_group(group: list[_Job], resolved: ResolvedModel, diffusion: DiffusionSettings, plan: dict, out_dir: Path) -> None:
    """Generate the next attempt of each job in ``group`` (cached MP4s are reused), then score it."""
    from clips.diffusion_fidelity import fidelity

    todo = []
    for job in group:
        path = _cache_path(job, resolved, diffusion, plan, out_dir)
        sidecar = path.with_suffix(".json")
        if path.is_file() and sidecar.is_file():
            scored = json.loads(sidecar.read_text(encoding="utf-8")).get("fidelity")
            # Reuse the shot, and its score when it was measured the way the settings ask now.
            if job.image is None or (scored and scored.get("model") == diffusion.fidelity_model):
                job.attempts.append({"seed": job.seed, "video": str(path), "fidelity": scored, "cached": True})
                continue
        todo.append((job, path))
    pipe = _load(resolved, diffusion, group[0].task) if todo else None
    size = min(max(1, diffusion.batch_size), _max_batch(resolved, _pipeline_class(resolved, group[0].task)))
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        began = time.perf_counter()
        videos = _call(pipe, [job for job, _ in chunk], resolved, plan)
        elapsed = time.perf_counter() - began
        for (job, path), frames in zip(chunk, videos):
            write_mp4(frames, plan["fps"], path)
            score = None
            if job.image is not None:
                score = fidelity(frames, Path(job.request.image_path or job.request.shot.image), model=diffusion.fidelity_model)
            atomic.write_json(path.with_suffix(".json"), {"fidelity": score, "seed": job.seed, "prompt": job.prompt})
            job.attempts.append({"seed": job.seed, "video": str(path), "fidelity": score,
                                 "seconds": round(elapsed / len(chunk), 3), "cached": False})


def _call(pipe, jobs: list[_Job], resolved: ResolvedModel, plan: dict) -> list:
    """One pipeline call for ``jobs``; on CUDA out-of-memory: halve the batch, then offload, then give up."""
    import torch

    from clips.diffusion_video import to_uint8

    kwargs = _call_kwargs(pipe, jobs, resolved, plan)
    try:
        # One call at a time per process: pipelines keep per-call state and share one GPU anyway.
        with _CALL_LOCK, torch.inference_mode():
            output = pipe(**kwargs)
        return [to_uint8(video) for video in output.frames]
    except torch.OutOfMemoryError as exc:
        _free_cuda()
        if len(jobs) > 1:
            half = len(jobs) // 2
            return _call(pipe, jobs[:half], resolved, plan) + _call(pipe, jobs[half:], resolved, plan)
        if getattr(pipe, "_productreel_offload", "none") == "none":
            log.warning("CUDA out of memory for %s: switching on model CPU offload", resolved.name)
            pipe.enable_model_cpu_offload()
            pipe._productreel_offload = "model"
            return _call(pipe, jobs, resolved, plan)
        job = jobs[0]
        raise TransientError(
            f"GPU out of memory generating a {job.width}x{job.height}, {job.frames}-frame shot with {resolved.name} "
            f"even with one shot per call and offload",
            product=job.request.product,
            market=job.request.market,
            where="diffusion",
        ) from exc
    except (ValueError, RuntimeError, TypeError) as exc:
        job = jobs[0]
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RenderError(
            f"{type(pipe).__name__} failed on a {job.width}x{job.height}, {job.frames}-frame shot: {first_line}",
            product=job.request.product,
            market=job.request.market,
            where="diffusion",
        ) from exc


def _free_cuda() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _call_kwargs(pipe, jobs: list[_Job], resolved: ResolvedModel, plan: dict) -> dict[str, Any]:
    import torch

    first = jobs[0]
    kwargs: dict[str, Any] = {
        "prompt": [j.prompt for j in jobs],
        "negative_prompt": [j.negative for j in jobs],
        "width": first.width,
        "height": first.height,
        "num_frames": first.frames,
        "num_inference_steps": int(plan["steps"]),
        "guidance_scale": float(plan["guidance"]),
        # CPU generators: the same seed gives the same noise on any device.
        "generator": [torch.Generator("cpu").manual_seed(j.seed) for j in jobs],
        "output_type": "np",
    }
    family = FAMILIES[resolved.family]
    entry = PIPELINE_TABLE.get(type(pipe).__name__, {})
    if plan.get("max_sequence_length"):
        kwargs["max_sequence_length"] = int(plan["max_sequence_length"])
    if first.task == "i2v":
        # A per-call photo conditions the whole batch (jobs are grouped by photo); LTX i2v takes one per video.
        per_video = family.get("image") == "per_video" and entry.get("max_batch", 0) != 1
        kwargs["image"] = [j.image for j in jobs] if per_video else first.image
    if entry.get("generator") == "one":
        kwargs["generator"] = kwargs["generator"][0]
    for name, value in (family.get("call") or {}).items():
        kwargs[name] = int(plan[value]) if isinstance(value, str) and value in plan else value
    for name, new in (family.get("rename") or {}).items():
        if name in kwargs:
            kwargs[new] = kwargs.pop(name)
    if plan.get("timesteps"):
        kwargs["timesteps"] = list(plan["timesteps"])
        kwargs.pop("num_inference_steps")
    if getattr(getattr(pipe, "vae", None), "config", None) is not None and getattr(pipe.vae.config, "timestep_conditioning", False):
        # VAEs that denoise while decoding (LTX-Video 0.9.1+): the values the family's docs give.
        kwargs.update(family.get("decode") or {})
    if family.get("guidance") == "guider" and getattr(pipe, "guider", None) is not None:
        # The guidance scale lives in the pipeline's guider component, not in the call.
        pipe.guider.guidance_scale = float(plan["guidance"])
    # Only what this pipeline's __call__ takes (HunyuanVideo-1.5 i2v sizes the video from the photo itself).
    accepted = _call_parameters(pipe)
    return {k: v for k, v in kwargs.items() if accepted is None or k in accepted}


def _call_parameters(pipe) -> set[str] | None:
    """The keyword arguments a pipeline's __call__ takes, or None when it takes any (**kwargs)."""
    import inspect

    params = inspect.signature(type(pipe).__call__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return set(params) - {"self"}


def _max_batch(resolved: ResolvedModel, class_name: str) -> int:
    """Shots one call of ``class_name`` can make: the pipeline's limit, else the family's, else no limit."""
    for limit in (PIPELINE_TABLE.get(class_name, {}).get("max_batch"), FAMILIES[resolved.family].get("max_batch")):
        if limit:
            return int(limit)
    return 1 << 30


def _metadata(job: _Job, resolved: ResolvedModel, diffusion: DiffusionSettings, plan: dict, threshold: float) -> dict:
    pipe = _pipeline_info(resolved, diffusion, job.task)
    return {
        "kind": "generated",
        "prompt": job.prompt,
        "negative_prompt": job.negative,
        "prompt_origin": "shot" if job.request.shot.prompt.strip() else "fallback",
        "seed": job.attempts[-1]["seed"],
        "steps": plan["steps"],
        "guidance": plan["guidance"],
        "model": resolved.name,
        "model_path": str(resolved.path),
        "revision": resolved.revision,
        "family": resolved.family,
        "pipeline": _pipeline_class(resolved, job.task),
        "tiny": resolved.tiny,
        "device": pipe["device"],
        "offload": pipe["offload"],
        "cache_method": cache_method(diffusion, resolved.family),
        "width": job.width,
        "height": job.height,
        "frames": job.frames,
        "fps": plan["fps"],
        "source_image": str(job.request.image_path or job.request.shot.image or "") or None,
        "fidelity": job.attempts[-1].get("fidelity"),
        "fidelity_threshold": threshold,
        "attempts": job.attempts,
        "digital_source_type": SHOT_SOURCE_TYPE,
    }


def _pipeline_info(resolved: ResolvedModel, diffusion: DiffusionSettings, task: str) -> dict:
    """Where the pipeline ran; None when every attempt came from the shot cache and nothing was loaded."""
    class_name = _pipeline_class(resolved, task)
    for key, pipe in _PIPELINES.items():
        if key[0] == str(resolved.path) and key[1] == resolved.revision and key[-1] == class_name:
            return {"device": pipe._productreel["device"], "offload": getattr(pipe, "_productreel_offload", "none")}
    return {"device": None, "offload": None}


def _result(job: _Job, resolved, diffusion, plan, threshold, *, video: Path) -> GeneratedShot:
    metadata = _metadata(job, resolved, diffusion, plan, threshold)
    atomic.write_json(video.with_suffix(".json"), metadata, default=str)
    return GeneratedShot(video=video, metadata=metadata)


def _fallback(job: _Job, resolved, diffusion, plan, threshold) -> GeneratedShot:
    best = max(job.attempts, key=lambda a: a["fidelity"]["score"])
    metadata = _metadata(job, resolved, diffusion, plan, threshold)
    metadata["fallback"] = True
    metadata["fidelity"] = best["fidelity"]
    metadata["seed"] = best["seed"]
    finding = Finding(
        rule="GEN-FIDELITY",
        severity="WARN",
        message=(
            f"generated shot did not keep the product (best score {best['fidelity']['score']:.2f} < "
            f"{threshold:.2f} over {len(job.attempts)} seeds): a composed shot was used instead"
        ),
        evidence={
            "model": resolved.name,
            "revision": resolved.revision,
            "method": best["fidelity"]["method"],
            "threshold": threshold,
            "attempts": [{"seed": a["seed"], "score": a["fidelity"]["score"], "video": a["video"]} for a in job.attempts],
            "product": job.request.product,
            "market": job.request.market,
        },
        source="clips.diffusion",
    )
    return GeneratedShot(video=None, metadata=metadata, fallback=True, finding=finding)


def fill_generated_shots(
    storyboard: Storyboard, *, settings: Settings, diffusion: DiffusionSettings | None = None
) -> tuple[Storyboard, list[Finding]]:
    """Generate every ``kind="generated"`` shot of a storyboard (one batch), filling ``Shot.video``.

    A shot that fails the fidelity guard becomes a composed shot of the same photo, with a finding;
    when no generated shot is left the AI disclosure overlay goes too. The storyboard's metadata
    gets the model key, each shot's metadata and the C2PA assets and digital source type.
    """
    indices = [i for i, scene in enumerate(storyboard.scenes) if scene.shot.kind == "generated"]
    if not indices:
        return storyboard, []
    requests = [
        ShotRequest(
            shot=storyboard.scenes[i].shot, width=storyboard.width, height=storyboard.height, fps=storyboard.fps,
            duration=storyboard.scenes[i].duration, product=storyboard.product_handle, market=storyboard.market,
        )
        for i in indices
    ]
    results = generate_shots(requests, settings=settings, diffusion=diffusion)
    scenes = [scene.model_copy(deep=True) for scene in storyboard.scenes]
    findings: list[Finding] = []
    for i, result in zip(indices, results):
        shot = scenes[i].shot
        if result.fallback:
            # The photo with motion: the one picture we know shows the seller's product.
            scenes[i].shot = Shot(kind="image", image=shot.image, motion="zoom_in") if shot.image else Shot(kind="color")
            findings.append(result.finding)
        else:
            scenes[i].shot = shot.model_copy(update={"video": result.video})
    generated = any(scene.shot.kind == "generated" for scene in scenes)
    ai_label = storyboard.metadata.ai_label
    if not generated and ai_label:
        for scene in scenes:
            scene.overlays = [o for o in scene.overlays if not (o.role == "disclosure" and o.text == ai_label)]
    update: dict[str, Any] = {"diffusion": {
        "model": model_key(settings, diffusion),
        "shots": [r.metadata for r in results],
        "findings": [f.model_dump(mode="json") for f in findings],
    }}
    if generated:
        made = next(r.metadata for r in results if r.video is not None and not r.fallback)
        update["digital_source_type"] = DIGITAL_SOURCE_TYPE
        update["c2pa_assets"] = provenance_assets(results, model_rights(made["model"], Path(made["model_path"]), made["revision"]))
        update["model"] = made["model"]
    metadata = storyboard.metadata.model_copy(update=update)
    return storyboard.model_copy(update={"scenes": scenes, "metadata": metadata}), findings


def provenance_assets(shots: list[GeneratedShot], model: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The asset-manifest entries (and C2PA ingredients) of a clip's generated shots and of the model that made them.

    Each shot is trained algorithmic media, made for the seller under the model's licence: its
    licence entry names the model's (from the model card, ``model``), so LIC-1 blocks the shot
    and the model alike when the model's licence is unknown or forbids commercial use.
    """
    license_id = (model or {}).get("license")
    entries: list[dict[str, Any]] = []
    for s in shots:
        if s.video is None or s.fallback:
            continue
        name = s.metadata.get("model")
        entry = {
            "kind": "generated_shot",
            "path": str(s.video),
            "name": Path(s.video).name,
            "title": Path(s.video).name,
            "digital_source_type": SHOT_SOURCE_TYPE,
            "source": f"generated by {name} (revision {s.metadata.get('revision')}, seed {s.metadata.get('seed')})",
            "owner": "seller",
            "model": name,
            "revision": s.metadata.get("revision"),
            "prompt": s.metadata.get("prompt"),
            "seed": s.metadata.get("seed"),
        }
        if license_id:
            entry["license"] = f"output of {name} under {license_id}"
        else:
            entry["note"] = f"made by {name}, whose licence is unknown"
        entries.append(entry)
    if entries and model:
        entries.append(dict(model))
    return entries
