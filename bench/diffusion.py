"""Benchmark: generated-shot speed with productreel's settings against the plain diffusers call.

For a model (``--model`` or PRODUCTREEL_MODEL) or a full-size random-weight pipeline of a family
(``--random-weights --family F``) it measures one image-to-video shot at the family's usual size
(clips/diffusion_families.yaml ``benchmark.size``), first with the plain diffusers call (bf16, the
pipeline's own arguments) and then with productreel's settings (the family's cache hook, VAE
tiling, optional regional compile, offload only when needed; PRODUCTREEL_DIFFUSION_* apply), at
equal steps, size and length, in the same process on the same card. It prints seconds per shot
and per second of video, the speedup, peak GPU memory of each side, the cold load (or build)
time, the fidelity of both (real weights only) and, with ``--batch N``, how a batch of N shots and
the out-of-memory fallback behaved.

``--random-weights`` builds the architecture from the family's full-size config,
``bench/configs/<family>.json`` (written from the diffusers class defaults and the published
configs; nothing is downloaded), with random weights straight on the GPU. Speed does not depend on
the weights' values, so timing, memory and speedup hold; fidelity is not measured. Without CUDA a
config bigger than ``PRODUCTREEL_DIFFUSION_CPU_MAX_PARAMS`` is refused with one line (a CPU
would take hours); a toy config (``--config toy.json``) runs on the CPU to check the script.

    .venv/bin/python bench/diffusion.py --random-weights --family ltx2 --json out/bench-ltx2.json
    .venv/bin/python bench/diffusion.py --model Lightricks/LTX-Video-0.9.7-distilled --batch 4
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = ROOT / "bench" / "configs"
FAMILY_NAMES = sorted(p.stem for p in CONFIGS.glob("*.json"))
PROMPT = "the product turning slowly on a wooden table in soft morning light, smooth camera motion"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="local diffusers folder or cached Hugging Face id (default: PRODUCTREEL_MODEL)")
    parser.add_argument("--random-weights", action="store_true", help="the family's full-size config, random weights")
    parser.add_argument("--family", choices=FAMILY_NAMES, default="ltx", help="family for --random-weights")
    parser.add_argument("--config", type=Path, default=None, help="a config JSON instead of bench/configs/<family>.json")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of video per shot (the GPU table: 5)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per side (median is reported)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="steps of the untimed warm-up call")
    parser.add_argument("--batch", type=int, default=0, help="also time N shots in one call with the OOM fallback")
    parser.add_argument("--image", type=Path, default=None, help="product photo (default: the first sample image)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="check this script on a CPU with a tiny model (--model DIR) at 64x64; times mean nothing")
    return parser.parse_args(argv)


def sync() -> None:
    """Wait for the GPU so wall time covers the work."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def free() -> None:
    """Release GPU memory between the two sides."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def peak_gib(device: str) -> float | None:
    """Peak GPU memory since the last reset, in GiB (None on a CPU)."""
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 1) if device.startswith("cuda") else None


def reset_peak(device: str) -> None:
    """Start a new peak-memory window."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


# ---------------------------------------------------------------------------------------------
# A pipeline from a config JSON


def load_config(family: str, path: Path | None = None) -> dict[str, Any]:
    """The pipeline config of ``family`` (bench/configs/<family>.json), or the one at ``path``."""
    return json.loads((path or CONFIGS / f"{family}.json").read_text(encoding="utf-8"))


def _class(spec: dict[str, Any], library: str):
    module = importlib.import_module(spec.get("module") or library)
    return getattr(module, spec["class"])


def _module(name: str, spec: dict[str, Any]):
    """One model component: a diffusers class built from its config, or a transformers config + model class."""
    if spec.get("config_class"):
        import transformers

        config = getattr(transformers, spec["config_class"])(**spec["config"])
        return getattr(transformers, spec["class"])(config)
    return _class(spec, "diffusers")(**spec.get("config", {}))


def count_config_parameters(config: dict[str, Any]) -> int:
    """Parameters of every model in a config, counted on the meta device (no memory, no weights)."""
    import torch

    total = 0
    for name, spec in config["components"].items():
        if not spec or "class" not in spec or name == "scheduler":
            continue
        with torch.device("meta"):
            module = _module(name, spec)
        total += sum(p.numel() for p in module.parameters())
    return total


def _other(kind: str, options: dict[str, Any]):
    """Components that are not models: tokenizers, image processors, guiders."""
    from clips.diffusion_tiny import _CHAT_TEMPLATE, build_tokenizer

    if kind == "tokenizer":
        tokenizer = build_tokenizer(model_max_length=options.get("model_max_length", 512))
        if options.get("chat"):
            tokenizer.chat_template = _CHAT_TEMPLATE
        return tokenizer
    if kind == "byt5":
        from transformers import ByT5Tokenizer

        return ByT5Tokenizer()
    if kind == "siglip_processor":
        from transformers import SiglipImageProcessor

        return SiglipImageProcessor(**options)
    if kind == "guider":
        from diffusers.guiders import ClassifierFreeGuidance

        return ClassifierFreeGuidance(**options)
    raise ValueError(f"unknown component kind {kind!r}")


def random_pipeline(config: dict[str, Any], device: str):
    """The pipeline of ``config`` with random weights, built on ``device`` (bf16 on CUDA, float32 on a CPU)."""
    import diffusers
    import torch

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    previous = torch.get_default_dtype()
    components: dict[str, Any] = {}
    torch.manual_seed(0)
    # Build straight on the device in its dtype: a 19B model initialised in float32 on the CPU takes minutes.
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            for name, spec in config["components"].items():
                if spec is None:
                    components[name] = None
                elif "class" in spec and name == "scheduler":
                    components[name] = _class(spec, "diffusers").from_config(spec.get("config", {}))
                elif "class" in spec:
                    module = _module(name, spec)
                    if spec.get("dtype"):
                        module = module.to(getattr(torch, spec["dtype"]))
                    components[name] = module.eval()
                else:
                    (kind, options), = spec.items()
                    components[name] = _other(kind, options)
    finally:
        torch.set_default_dtype(previous)
    return getattr(diffusers, config["pipeline"])(**components, **config.get("pipeline_config", {}))


# ---------------------------------------------------------------------------------------------
# Timing


def timed(pipe, kwargs: dict, runs: int, warmup_steps: int) -> tuple[list[float], float, object]:
    """Warm up once (untimed), then time ``runs`` calls; returns times, warm-up time, last frames."""
    import torch

    warm = dict(kwargs, num_inference_steps=warmup_steps) if warmup_steps and "num_inference_steps" in kwargs else None
    began = time.perf_counter()
    if warm:
        with torch.inference_mode():
            pipe(**warm)
        sync()
    warmup = time.perf_counter() - began
    times, frames = [], None
    for _ in range(runs):
        kwargs["generator"] = torch.Generator("cpu").manual_seed(0)
        began = time.perf_counter()
        with torch.inference_mode():
            frames = pipe(**kwargs).frames[0]
        sync()
        times.append(time.perf_counter() - began)
    return times, warmup, frames


def batch_check(pipe, d, resolved, plan: dict, job, n: int) -> dict[str, Any]:
    """N shots through generate_shots' own call (halve on OOM, then offload): what happened and how long it took."""
    limit = d._max_batch(resolved, type(pipe).__name__)
    if limit < n:
        return {"n": n, "skipped": f"{type(pipe).__name__} makes {limit} shot(s) per call (clips/diffusion_families.yaml)"}
    jobs = [d._Job(i, job.request, job.task, job.prompt, job.negative, job.width, job.height, job.frames, job.image,
                   job.image_hash, i) for i in range(n)]
    began = time.perf_counter()
    try:
        videos = d._call(pipe, jobs, resolved, plan)
    except Exception as exc:  # a TransientError after the whole fallback is the finding itself
        return {"n": n, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}",
                "offload_after": getattr(pipe, "_productreel_offload", "none")}
    sync()
    seconds = time.perf_counter() - began
    return {"n": n, "videos": len(videos), "seconds": round(seconds, 2), "s_per_shot": round(seconds / n, 2),
            "offload_after": getattr(pipe, "_productreel_offload", "none")}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it."""
    import torch

    args = parse_args(argv)
    from productreel.settings import Settings

    settings = Settings()
    tuned = settings.diffusion
    cuda = torch.cuda.is_available() and not args.cpu_smoke
    config = load_config(args.family, args.config) if args.random_weights else None
    if config is not None and not cuda:
        params = count_config_parameters(config)
        if params > tuned.cpu_max_params:
            print(f"too big for a CPU: {config.get('name', config['family'])} has {params / 1e9:.1f}B parameters "
                  f"(a CPU run stops above {tuned.cpu_max_params / 1e6:.0f}M); run it on a CUDA machine, or pass a toy "
                  f"--config. Nothing was measured.")
            return 0
    elif not cuda and not args.cpu_smoke:
        print("CUDA not available: bench/diffusion.py times diffusion on a GPU; nothing was measured on this machine.")
        return 0

    from PIL import Image

    from clips import diffusion as d
    from clips.diffusion_fidelity import fidelity, load_photo
    from clips.diffusion_video import cover, to_uint8

    device = "cuda" if cuda else "cpu"
    tuned = tuned.model_copy(update={"device": device})
    photo = args.image or sorted((ROOT / "samples" / "images").glob("*.jpg"))[0]
    began = time.perf_counter()
    if config is not None:
        family = config["family"]
        class_name = config["pipeline"]
        resolved = d.ResolvedModel(f"random-weights:{config.get('name', family)}", ROOT, "random", class_name, family, "i2v")
        pipe = random_pipeline(config, device)
    else:
        resolved = d.resolve_model(args.model or settings.model, settings=settings, diffusion=tuned)
        family = resolved.family
        import diffusers

        with d._quiet_loading():
            pipe = getattr(diffusers, d._pipeline_class(resolved, "i2v")).from_pretrained(
                resolved.path, local_files_only=True,
                **{d._dtype_arg(): torch.bfloat16 if cuda else torch.float32},
            ).to(device)
    sync()
    load_s = time.perf_counter() - began
    pipe.set_progress_bar_config(disable=True)
    plan = d._plan_defaults(resolved, tuned)
    width, height = (64, 64) if not cuda else tuple(d.FAMILIES[family]["benchmark"]["size"])
    frames = d.frame_count(args.seconds, plan["fps"], d._temporal_ratio(pipe), plan["max_frames"])
    video_seconds = frames / plan["fps"]
    image = Image.fromarray(cover(load_photo(photo), width, height))
    steps = int(plan["steps"])

    # The plain call: the pipeline as loaded, its own arguments, at the same steps, size and length.
    accepted = d._call_parameters(pipe)
    plain_kwargs = {"image": image, "prompt": PROMPT, "width": width, "height": height, "num_frames": frames,
                    "num_inference_steps": steps, "output_type": "np"}
    plain_kwargs = {k: v for k, v in plain_kwargs.items() if accepted is None or k in accepted}
    reset_peak(device)
    plain_times, plain_warm, plain_frames = timed(pipe, plain_kwargs, args.runs, args.warmup_steps)
    plain_peak = peak_gib(device)
    plain_fid = None if config is not None else fidelity(to_uint8(plain_frames), photo, model=tuned.fidelity_model)

    # productreel's settings: the same weights, optimised as load_pipeline does, called as generate_shots does.
    free()
    reset_peak(device)
    d.optimise_pipeline(pipe, tuned, device=device, steps=steps, name=resolved.name, family=family)
    job = d._Job(0, d.ShotRequest(shot=d.Shot(kind="generated", prompt=PROMPT), width=width, height=height),
                 "i2v", PROMPT, d.FALLBACK_NEGATIVE, width, height, frames, image, "photo", 0)
    tuned_kwargs = d._call_kwargs(pipe, [job], resolved, plan)
    tuned_kwargs.update({k: v for k, v in (("prompt", PROMPT), ("negative_prompt", d.FALLBACK_NEGATIVE)) if k in tuned_kwargs})
    if isinstance(tuned_kwargs.get("image"), list):
        tuned_kwargs["image"] = image
    cache = d.cache_method(tuned, family)
    warmup_steps = steps if cache == "mag" else args.warmup_steps
    tuned_times, tuned_warm, tuned_frames = timed(pipe, tuned_kwargs, args.runs, warmup_steps)
    tuned_peak = peak_gib(device)
    tuned_fid = None if config is not None else fidelity(to_uint8(tuned_frames), photo, model=tuned.fidelity_model)
    batch = batch_check(pipe, d, resolved, plan, job, args.batch) if args.batch > 1 else None

    plain_s, tuned_s = statistics.median(plain_times), statistics.median(tuned_times)
    result = {
        "gpu": torch.cuda.get_device_name(0) if cuda else "none (CPU smoke run)",
        "model": resolved.name,
        "revision": resolved.revision,
        "family": family,
        "size": f"{width}x{height}",
        "frames": frames,
        "video_seconds": round(video_seconds, 3),
        "steps": steps,
        "load_s": round(load_s, 2),
        "plain": {"steps": steps, "guidance": "pipeline default", "seconds": round(plain_s, 2),
                  "s_per_video_s": round(plain_s / video_seconds, 2), "warmup_s": round(plain_warm, 2),
                  "peak_gib": plain_peak, "fidelity": plain_fid and plain_fid["score"]},
        "productreel": {"steps": steps, "guidance": plan["guidance"], "cache": cache,
                        "compile": tuned.compile, "vae_tiling": tuned.vae_tiling,
                        "offload": getattr(pipe, "_productreel_offload", "none"), "seconds": round(tuned_s, 2),
                        "s_per_video_s": round(tuned_s / video_seconds, 2), "warmup_s": round(tuned_warm, 2),
                        "peak_gib": tuned_peak, "fidelity": tuned_fid and tuned_fid["score"]},
        "speedup": round(plain_s / tuned_s, 2),
        "batch": batch,
    }
    print(f"GPU: {result['gpu']}   model: {result['model']} ({family}, revision {result['revision']})")
    print(f"{width}x{height}, {frames} frames = {video_seconds:.2f} s of video at {plan['fps']} fps, {steps} steps; "
          f"{'built' if config else 'loaded'} in {load_s:.1f} s")
    for side in ("plain", "productreel"):
        r = result[side]
        fid = "not measured (random weights)" if r["fidelity"] is None else f"{r['fidelity']:.3f}"
        peak = "" if r["peak_gib"] is None else f", peak {r['peak_gib']} GiB"
        print(f"  {side:12s} {r['s_per_video_s']:8.2f} s per video-second   ({r['seconds']:.1f} s/shot, "
              f"warm-up {r['warmup_s']:.1f} s{peak})   fidelity {fid}")
    verdict = "met" if result["speedup"] >= 2.0 else "NOT met"
    if config is None and tuned_fid["score"] < plain_fid["score"] - 0.02:
        verdict += " (but fidelity dropped)"
    print(f"speedup {result['speedup']:.2f}x at equal steps  (target >= 2x at equal fidelity: {verdict})")
    if batch:
        print(f"batch of {batch['n']}: {json.dumps({k: v for k, v in batch.items() if k != 'n'})}")
    if not cuda:
        print("CPU smoke run: this checks the script; the times are not a benchmark.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
