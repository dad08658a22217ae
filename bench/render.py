"""Benchmark the compose renderer against a plain MoviePy 2 composition and the x264 encode-only bound.

Renders one fixed reference storyboard (a 15 s 1080x1920 ad at 30 fps: three product shots with
zoom, a title, a price badge, a call to action and burned-in captions) three ways in one run:

1. productreel's renderer (clips.compose.render);
2. the baseline a developer writes first: the same storyboard as a MoviePy 2 composition;
3. the encode-only bound: libx264 at the same preset encoding the very frames productreel made
   (captured from the encoder pipe in an untimed render, read from a file).

Each runs in its own process so peak memory is measured per method. The last line is
``speedup_vs_moviepy=<x> encode_bound_ratio=<renderer time / encode time>``.

    .venv/bin/python bench/render.py [--skip-tutorial] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMAGES = ROOT / "samples" / "images"
PRESET = "veryfast"


def reference_storyboard(kind: str = "ad", fmt: str = "9:16", duration: float | None = 15.0):
    """The fixed reference storyboard (built without the localization room, so it never drifts)."""
    from productreel.models import LocalizedProduct, LocalizedText, Market, Product, ProductImage, Script, Variant

    from clips.storyboard import build_storyboard

    market = Market(code="us", name="United States", locale="en-US", language="en", currency="USD", voice="en-us",
                    fonts=["Noto Sans"], cta="Shop now")
    product = Product(
        id="bench-1", handle="stoneware-mug", title="Stoneware Mug",
        variants=[Variant(price=Decimal("24.00"), compare_at_price=Decimal("32.00"))],
        images=[ProductImage(src=str(IMAGES / n)) for n in ("mug-blue.jpg", "bottle-teal.png", "mug-white.jpg")],
    )
    steps = ["Rinse the mug with warm water before its first use.", "Warm it with hot water for a few seconds.",
             "Pour in freshly brewed coffee or tea.", "Hand wash gently or use the top rack of the dishwasher.",
             "Dry it upside down on a soft towel.", "Store it away from the edge of the shelf."] * 2
    lp = LocalizedProduct(
        product_id="bench-1", handle="stoneware-mug", market="us", locale="en-US",
        title=LocalizedText(text="Stoneware Mug in Ocean Blue"), description=LocalizedText(text="A handmade mug."),
        price_text="$24.00", compare_at_text="$32.00", cta=LocalizedText(text="Shop now"),
        steps=[LocalizedText(text=s) for s in steps],
    )
    script = Script(
        kind=kind, hook="Meet your new favourite mug.", lines=["Handmade from stoneware."], cta="Shop now",
        voiceover="Meet your new favourite mug. Handmade from stoneware, glazed in ocean blue. "
                  "Now only twenty four dollars. Shop now.",
        steps=steps if kind == "tutorial" else [],
    )
    sb = build_storyboard(product, lp, script, market, kind, fmt, job_key=f"bench-{kind}", duration=duration)
    if kind == "ad":
        for sc in sb.scenes:  # the reference is three zooms
            sc.shot.motion = "zoom_in"
        sb.burn_captions = True
    return sb


def _peak_mb() -> tuple[float, float]:
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return self_mb, child_mb


# -- the three ways, each run in a child process ------------------------------------------------


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _warm_up(out: Path, kind: str, fmt: str, duration: float | None) -> None:
    """Render a short clip of another product first, untimed: a nightly worker renders thousands of
    clips per process, so imports, fonts, the music loop and the brand background are paid once per
    process; everything that depends on the product (photos, text, voice, mix) is paid again."""
    from clips.compose import render

    warm = reference_storyboard(kind, fmt, duration).model_copy(deep=True)
    others = ["candle.jpg", "hand-cream.png", "lantern.jpg"]
    for i, sc in enumerate(warm.scenes):
        sc.duration = 0.4
        sc.shot.image = IMAGES / others[i % len(others)]
    warm.product_handle = "warm-up"
    warm.voiceover = "A different product."
    render(warm, out / "warmup")


def encode_only_command(raw: Path, width: int, height: int, out: Path) -> list[str]:
    """libx264 at the renderer's preset on raw yuv420p frames: the encoder's own limit."""
    from clips.encode import ffmpeg_exe

    return [ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}",
            "-framerate", "30", "-i", str(raw), "-c:v", "libx264", "-preset", PRESET, "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-f", "mp4", str(out)]


def capture_frames(sb, out: Path, raw: Path):
    """Render once, untimed, keeping a copy of every frame sent to the encoder in `raw`.

    The encode-only bound then encodes exactly the renderer's frames (re-encoding its decoded
    output would hand x264 slightly smoother, cheaper frames: about 2 % less CPU).
    """
    import clips.encode as encode

    from clips.compose import render

    original = encode.Encoder.write
    with open(raw, "wb") as fh:
        def tee(self, frame) -> None:
            fh.write(memoryview(frame).cast("B"))
            original(self, frame)

        encode.Encoder.write = tee
        try:
            clip = render(sb, out)
        finally:
            encode.Encoder.write = original
    frames = raw.stat().st_size // (sb.width * sb.height * 3 // 2)
    if frames != round(clip.duration * sb.fps):
        raise SystemExit(f"captured {frames} frames, the clip has {clip.duration * sb.fps:.0f}")
    return clip


def run_productreel_and_encode(out: Path, repeat: int) -> dict:
    """Render the reference storyboard, then encode its frames with bare libx264; alternate `repeat` times.

    Alternating keeps both measurements under the same machine load; the best of each counts.
    """
    from clips.compose import render

    _warm_up(out, "ad", "9:16", 15.0)
    sb = reference_storyboard()
    raw = out / "frames.yuv"
    capture_frames(sb, out, raw)
    r_times, e_times, r_cpu, e_cpu = [], [], [], []
    clip = None
    from clips.audio import clear_soundtrack_cache

    for _ in range(repeat):
        # Another format of the same ad would reuse its soundtrack; this one pays for its own.
        clear_soundtrack_cache()
        c0 = _cpu()
        t = time.perf_counter()
        clip = render(sb, out)
        r_times.append(time.perf_counter() - t)
        c1 = _cpu()
        r_cpu.append((c1[0] - c0[0]) + (c1[1] - c0[1]))
        c0 = _cpu()
        t = time.perf_counter()
        subprocess.run(encode_only_command(raw, sb.width, sb.height, out / "encode-only.mp4"), check=True)
        e_times.append(time.perf_counter() - t)
        e_cpu.append(_cpu()[1] - c0[1])
    raw.unlink(missing_ok=True)
    py, kids = _peak_mb()
    meta = json.loads(clip.metadata.read_text())
    return {"render": r_times, "encode": e_times, "render_cpu": r_cpu, "encode_cpu": e_cpu, "video": str(clip.video),
            "peak_python_mb": py, "peak_ffmpeg_mb": kids, "lufs": meta["audio"]["lufs"], "duration": clip.duration}


def run_tutorial(out: Path) -> dict:
    """A 90 s 1080p tutorial: the memory check (frames are streamed, so memory must not grow with length)."""
    from clips.compose import render

    sb = reference_storyboard("tutorial", "16:9", 90.0)
    t = time.perf_counter()
    clip = render(sb, out)
    took = time.perf_counter() - t
    py, kids = _peak_mb()
    return {"seconds": took, "duration": clip.duration, "peak_python_mb": py, "peak_ffmpeg_mb": kids}


def run_moviepy(out: Path, audio: Path) -> dict:
    """The same storyboard as the plain MoviePy 2 composition a developer would write first."""
    from moviepy import AudioFileClip, ColorClip, CompositeVideoClip, ImageClip, TextClip, concatenate_videoclips

    t = time.perf_counter()
    sb = reference_storyboard()
    W, H = sb.width, sb.height
    font = str(sb.fonts[0])
    scenes = []
    for sc in sb.scenes:
        d = sc.duration
        bg = ColorClip((W, H), color=(244, 241, 236)).with_duration(d)
        photo = (ImageClip(str(sc.shot.image)).resized(width=int(W * 0.89))
                 .resized(lambda t, d=d: 1 + 0.1 * t / d).with_position("center").with_duration(d))
        layers = [bg, photo]
        for o in sc.overlays:
            size = {"title": 80, "price": 96, "cta": 60}.get(o.role, 44)
            y = {"title": 360, "price": 1000, "compare_at": 1110, "cta": 1150}.get(o.role, 300)
            txt = TextClip(font=font, text=o.text, font_size=size, color="#1F2A44" if o.role != "price" else "#E4572E",
                           method="caption", size=(int(W * 0.8), None), text_align="center")
            layers.append(txt.with_position(("center", y)).with_start(o.start).with_duration(d - o.start))
        scenes.append(CompositeVideoClip(layers, size=(W, H)).with_duration(d))
    video = concatenate_videoclips(scenes, method="compose")
    caps = [TextClip(font=font, text=c.text, font_size=46, color="white", bg_color="black", method="caption",
                     size=(int(W * 0.8), None), text_align="center").with_position(("center", 1130))
            .with_start(c.start).with_duration(c.end - c.start) for c in sb.captions]
    final = CompositeVideoClip([video, *caps], size=(W, H)).with_audio(AudioFileClip(str(audio)))
    final.write_videofile(str(out / "moviepy.mp4"), fps=sb.fps, codec="libx264", preset=PRESET, audio_codec="aac",
                          logger=None)
    took = time.perf_counter() - t
    py, ff = _peak_mb()
    return {"seconds": took, "peak_python_mb": py, "peak_ffmpeg_mb": ff}


def _child(method: str, args: list[str]) -> dict:
    """Run one method in a fresh process; its whole process tree's memory is sampled every 50 ms."""
    import psutil

    proc = psutil.Popen([sys.executable, __file__, "--child", method, *args], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak = 0
    out_chunks: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    err = []
    err_reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    err_reader.start()
    while proc.poll() is None:
        try:
            tree = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    reader.join()
    err_reader.join()
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{''.join(err)[-3000:]}")
    res = json.loads("".join(out_chunks).strip().splitlines()[-1])
    res["peak_tree_mb"] = peak / 2**20
    return res


def main() -> None:
    """Run the three ways and print times, peak memory and the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--skip-tutorial", action="store_true", help="skip the 90 s 1080p tutorial memory check")
    ap.add_argument("--skip-moviepy", action="store_true", help="skip the slow MoviePy baseline")
    ap.add_argument("--repeat", type=int, default=3, help="render/encode rounds; the best of each counts (shared CPUs are noisy)")
    opts = ap.parse_args()
    if opts.child:
        method, *rest = opts.child
        out = Path(rest[0])
        if method == "productreel":
            res = run_productreel_and_encode(out, int(rest[1]))
        elif method == "tutorial":
            res = run_tutorial(out)
        else:
            res = run_moviepy(out, Path(rest[1]))
        print(json.dumps(res))
        return

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    with tempfile.TemporaryDirectory(prefix="productreel-bench-") as tmp:
        out = Path(tmp)
        pr = _child("productreel", [str(out), str(max(1, opts.repeat))])
        render_s, encode_s = min(pr["render"]), min(pr["encode"])
        print(f"productreel renderer : {render_s:6.2f} s  (runs {runs(pr['render'])}; CPU {min(pr['render_cpu']):.2f} s)  "
              f"peak memory {pr['peak_tree_mb']:.0f} MB (process tree, sampled)")
        print(f"x264 encode-only     : {encode_s:6.2f} s  (runs {runs(pr['encode'])}; CPU {min(pr['encode_cpu']):.2f} s)  "
              f"libx264 -preset {PRESET} on the renderer's own {pr['duration']:.0f} s of frames")
        speedup = float("nan")
        if not opts.skip_moviepy:
            audio = out / "audio.m4a"
            from clips.encode import ffmpeg_exe

            subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", pr["video"], "-vn", "-c:a", "copy", str(audio)], check=True)
            mp = _child("moviepy", [str(out), str(audio)])
            speedup = mp["seconds"] / render_s
            print(f"MoviePy 2 baseline   : {mp['seconds']:6.2f} s  peak memory {mp['peak_tree_mb']:.0f} MB (process tree, sampled)")
        if not opts.skip_tutorial:
            tu = _child("tutorial", [str(out)])
            print(f"90 s 1080p tutorial  : {tu['seconds']:6.2f} s  peak memory {tu['peak_tree_mb']:.0f} MB "
                  f"(process tree, sampled; target <= 1536 MB)")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        print(f"speedup_vs_moviepy={speedup:.2f} encode_bound_ratio={render_s / encode_s:.2f}")


if __name__ == "__main__":
    main()
