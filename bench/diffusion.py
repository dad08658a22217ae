"""Benchmark: generated-shot speed with productreel's settings against the plain diffusers call.

Runs only where CUDA is present. For the configured model (``--model`` or PRODUCTREEL_MODEL) it
measures seconds per generated second of video at 768x512 (LTX) or 832x480 (Wan), first with the
plain diffusers call (bf16, default arguments), then with productreel's settings (steps, guidance,
VAE tiling, cache hooks, optional compile; PRODUCTREEL_DIFFUSION_* apply), in the same process on
the same card, and prints the speedup and the fidelity score of both. Target: >= 2x at equal
fidelity.

``--random-weights`` builds the full-size architecture from the diffusers classes' default
configs (LTX-Video's defaults are its 2B model; Wan's are its 14B one, run as image-to-video
with first-frame conditioning) with random weights: speed does not depend on the weights'
values, so the timing and the speedup hold; fidelity is then reported as not measured.

    .venv/bin/python bench/diffusion.py --model Lightricks/LTX-Video-0.9.7-distilled
    .venv/bin/python bench/diffusion.py --random-weights --family ltx --json out/bench-diffusion.json
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"ltx": (768, 512), "wan": (832, 480)}
PROMPT = "the product turning slowly on a wooden table in soft morning light, smooth camera motion"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="local diffusers folder or cached Hugging Face id (default: PRODUCTREEL_MODEL)")
    parser.add_argument("--random-weights", action="store_true", help="full-size default architecture, random weights")
    parser.add_argument("--family", choices=sorted(SIZES), default="ltx", help="family for --random-weights")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of video per shot")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per side (median is reported)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="steps of the untimed warm-up call")
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
    torch.cuda.empty_cache()


def random_pipeline(family: str):
    """A full-size pipeline of ``family`` from default configs, random bf16 weights, on the GPU."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        LTXImageToVideoPipeline,
        LTXVideoTransformer3DModel,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    from clips.diffusion_tiny import build_tokenizer

    # Build straight on the GPU in bf16: a 14B model initialised in float32 on the CPU takes minutes.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    torch.manual_seed(0)
    try:
        with torch.device("cuda"):
            # The encoders of the real checkpoints: google/t5-v1_1-xxl (LTX) and google/umt5-xxl (Wan).
            encoder = dict(d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                           feed_forward_proj="gated-gelu", is_encoder_decoder=False)
            if family == "ltx":
                text_encoder = T5EncoderModel(T5Config(vocab_size=32128, **encoder))
                transformer = LTXVideoTransformer3DModel()
                vae = AutoencoderKLLTXVideo()
            else:
                text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=256384, **encoder))
                transformer = WanTransformer3DModel()
                vae = AutoencoderKLWan().to(torch.float32)
    finally:
        torch.set_default_dtype(previous)
    tokenizer = build_tokenizer(model_max_length=512)
    if family == "ltx":
        return LTXImageToVideoPipeline(transformer=transformer, vae=vae, text_encoder=text_encoder,
                                       tokenizer=tokenizer, scheduler=FlowMatchEulerDiscreteScheduler())
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    # The default transformer takes 16 channels: Wan 2.2 TI2V-style first-frame conditioning.
    return WanImageToVideoPipeline(transformer=transformer, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, expand_timesteps=True)


def timed(pipe, kwargs: dict, runs: int, warmup_steps: int) -> tuple[list[float], float, object]:
    """Warm up once (untimed), then time ``runs`` calls; returns times, warm-up time, last frames."""
    import torch

    warm = dict(kwargs, num_inference_steps=warmup_steps) if warmup_steps else None
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


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it."""
    import torch

    args = parse_args(argv)
    if not torch.cuda.is_available() and not args.cpu_smoke:
        print("CUDA not available: bench/diffusion.py times diffusion on a GPU; nothing was measured on this machine.")
        return 0

    from PIL import Image

    from clips import diffusion as d
    from clips.diffusion_fidelity import fidelity, load_photo
    from clips.diffusion_video import cover, to_uint8
    from productreel.settings import Settings

    settings = Settings()
    tuned = settings.diffusion
    device = "cpu" if args.cpu_smoke else "cuda"
    if args.cpu_smoke:
        tuned = tuned.model_copy(update={"device": "cpu"})
    photo = args.image or sorted((ROOT / "samples" / "images").glob("*.jpg"))[0]
    if args.random_weights:
        family = args.family
        class_name = "LTXImageToVideoPipeline" if family == "ltx" else "WanImageToVideoPipeline"
        resolved = d.ResolvedModel(f"random-weights:{family}", ROOT, "random", class_name, family, "i2v")
    else:
        resolved = d.resolve_model(args.model or settings.model, settings=settings, diffusion=tuned)
        family = resolved.family
    plan = d._plan_defaults(resolved, tuned)
    width, height = (64, 64) if args.cpu_smoke else SIZES[family]
    image = Image.fromarray(cover(load_photo(photo), width, height))

    # The plain call: bf16 on the GPU and the pipeline's default arguments, at the same size and length.
    if args.random_weights:
        pipe = random_pipeline(family)
    else:
        import diffusers

        with d._quiet_loading():
            pipe = getattr(diffusers, d._pipeline_class(resolved, "i2v")).from_pretrained(
                resolved.path, local_files_only=True,
                **{d._dtype_arg(): torch.bfloat16 if device == "cuda" else torch.float32},
            ).to(device)
    pipe.set_progress_bar_config(disable=True)
    frames = d.frame_count(args.seconds, plan["fps"], d._temporal_ratio(pipe), plan["max_frames"])
    video_seconds = frames / plan["fps"]
    plain_kwargs = {"image": image, "prompt": PROMPT, "width": width, "height": height, "num_frames": frames,
                    "output_type": "np"}
    plain_times, plain_warm, plain_frames = timed(pipe, plain_kwargs, args.runs, args.warmup_steps)
    plain_fid = None if args.random_weights else fidelity(to_uint8(plain_frames), photo, model=tuned.fidelity_model)

    # productreel's settings: the same weights, optimised as load_pipeline does, called as generate_shots does.
    if args.random_weights:
        d.optimise_pipeline(pipe, tuned, device=device, steps=plan["steps"], name=resolved.name)
    else:
        del pipe
        free()
        pipe = d.load_pipeline(resolved.name, settings=settings, diffusion=tuned)
    job = d._Job(0, d.ShotRequest(shot=d.Shot(kind="generated", prompt=PROMPT), width=width, height=height),
                 "i2v", PROMPT, d.FALLBACK_NEGATIVE, width, height, frames, image, None, 0)
    tuned_kwargs = d._call_kwargs(pipe, [job], resolved, plan)
    tuned_kwargs.update(prompt=PROMPT, negative_prompt=d.FALLBACK_NEGATIVE)
    if resolved.family == "ltx":
        tuned_kwargs["image"] = image
    warmup_steps = plan["steps"] if tuned.cache_method == "mag" else args.warmup_steps
    tuned_times, tuned_warm, tuned_frames = timed(pipe, tuned_kwargs, args.runs, warmup_steps)
    tuned_fid = None if args.random_weights else fidelity(to_uint8(tuned_frames), photo, model=tuned.fidelity_model)

    plain_s, tuned_s = statistics.median(plain_times), statistics.median(tuned_times)
    result = {
        "gpu": torch.cuda.get_device_name(0) if device == "cuda" else "none (CPU smoke run)",
        "model": resolved.name,
        "revision": resolved.revision,
        "family": family,
        "size": f"{width}x{height}",
        "frames": frames,
        "video_seconds": round(video_seconds, 3),
        "plain": {"steps": "pipeline default", "guidance": "pipeline default", "seconds": round(plain_s, 2),
                  "s_per_video_s": round(plain_s / video_seconds, 2), "warmup_s": round(plain_warm, 2),
                  "fidelity": plain_fid and plain_fid["score"]},
        "productreel": {"steps": plan["steps"], "guidance": plan["guidance"], "cache": tuned.cache_method,
                        "compile": tuned.compile, "vae_tiling": tuned.vae_tiling,
                        "offload": getattr(pipe, "_productreel_offload", "none"), "seconds": round(tuned_s, 2),
                        "s_per_video_s": round(tuned_s / video_seconds, 2), "warmup_s": round(tuned_warm, 2),
                        "fidelity": tuned_fid and tuned_fid["score"]},
        "speedup": round(plain_s / tuned_s, 2),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1) if device == "cuda" else None,
    }
    print(f"GPU: {result['gpu']}   model: {result['model']} ({family}, revision {result['revision']})")
    print(f"{width}x{height}, {frames} frames = {video_seconds:.2f} s of video at {plan['fps']} fps")
    for side in ("plain", "productreel"):
        r = result[side]
        fid = "not measured (random weights)" if r["fidelity"] is None else f"{r['fidelity']:.3f}"
        print(f"  {side:12s} {r['s_per_video_s']:8.2f} s per video-second   ({r['seconds']:.1f} s/shot, "
              f"steps {r['steps']}, warm-up {r['warmup_s']:.1f} s)   fidelity {fid}")
    verdict = "met" if result["speedup"] >= 2.0 else "NOT met"
    if not args.random_weights and tuned_fid["score"] < plain_fid["score"] - 0.02:
        verdict += " (but fidelity dropped)"
    print(f"speedup {result['speedup']:.2f}x  (target >= 2x at equal fidelity: {verdict})")
    if args.cpu_smoke:
        print("CPU smoke run with a tiny model: this checks the script; the times are not a benchmark.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
