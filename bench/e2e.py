"""Benchmark: a whole `productreel run` against the encode of its own clip, Prefect's start-up, and the demo.

Measured in one run, on the same machine (issue #18 targets, on an idle 2-core machine):

1. ``productreel run`` for one 15 s 9:16 ad (sample catalog, market de), start-up included, against an x264
   veryfast re-encode of the clip it made: at most 2.5×. Timed cold (the CLI starts its embedded API) and
   warm (a local API already running, PREFECT_API_URL set).
2. An empty Prefect flow run in a fresh process on the embedded default: at most 5 s cold (the process starts
   its own API, as the CLI does), at most 2 s warm (a local API already running).
3. ``productreel demo`` (18 clips) end to end: at most 90 s. Long; ``--no-demo`` skips it.

The warm API is the CLI's own (flows/runtime.py ``embedded_api``), started once by this script; each timed
command is a fresh process, so interpreter and import start-up are in every figure, and its CPU seconds (its
own and its children's: the API server, FFmpeg) are printed beside the wall seconds. The machine may be
shared: the load average is printed, and ratios and CPU seconds taken in the same run are what to compare.

``--baseline REV`` also times the cold figures (and the demo, with ``--demo-baseline``) with the flows/ and
jobs/ packages of git revision REV, ahead of the working tree's on PYTHONPATH, in the same run.

    .venv/bin/python bench/e2e.py [--no-demo] [--repeat 1] [--out DIR] [--baseline REV [--demo-baseline]]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PRODUCTREEL = str(Path(sys.executable).with_name("productreel"))

EMPTY_FLOW = """
import flows.runtime as runtime
if hasattr(runtime, "start_api_early"):  # as the CLI does: the API starts before Prefect is imported
    runtime.start_api_early(["run"])
from prefect import flow
from flows.runtime import embedded_api, quiet_prefect

@flow(name="empty")
def empty():
    return 1

with quiet_prefect(), embedded_api():
    assert empty() == 1
"""


class Took(float):
    """Wall seconds of a command, with the CPU seconds of it and its children in ``cpu``."""

    cpu: float = 0.0


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> Took:
    """Wall and CPU seconds of one command in a fresh process; raises when it fails."""
    before = os.times()
    t = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    took = Took(time.perf_counter() - t)
    after = os.times()
    took.cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    return took


def best(fn, repeat: int) -> Took:
    """The fastest of ``repeat`` runs (the least disturbed by other work on a shared machine)."""
    return min((fn() for _ in range(max(1, repeat))), key=float)


def baseline_env(rev: str) -> dict[str, str]:
    """PYTHONPATH with revision ``rev``'s flows/ and jobs/ ahead of the working tree's (the rest is the working tree)."""
    base = Path(tempfile.mkdtemp(prefix="bench-e2e-base-"))
    subprocess.run(f"git -C {ROOT} archive {rev} flows jobs | tar -x -C {base}", shell=True, check=True)
    return {"PYTHONPATH": os.pathsep.join([str(base), str(ROOT)])}


def reencode(clip: Path, out: Path) -> Took:
    """Seconds for ffmpeg to decode the clip and encode it again with x264 veryfast (audio copied)."""
    from imageio_ffmpeg import get_ffmpeg_exe

    return timed([get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-c:v", "libx264", "-preset", "veryfast",
                  "-pix_fmt", "yuv420p", "-c:a", "copy", str(out)])


def run_one(out: Path, env: dict | None = None) -> Took:
    """`productreel run` for one ad for de into a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    return timed([PRODUCTREEL, "run", "--catalog", "samples/catalog.csv", "--markets", "de", "--kinds", "ad", "--limit", "1",
                  "--out", str(out)], env)


def fmt(took: Took, enc: Took, target: str = "") -> str:
    """``wall s (cpu s CPU) = ratio× the encode``."""
    return f"{took:6.2f} s ({took.cpu:5.1f} s CPU) = {took / enc:4.2f}× the encode{target}"


def main() -> None:
    """Print the run/encode ratio, the empty-flow start-up cold and warm, and the demo's wall time."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-demo", action="store_true", help="skip the demo (18 clips; long)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest is kept")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--baseline", default=None, help="git revision whose flows/ and jobs/ are timed too (cold figures)")
    ap.add_argument("--demo-baseline", action="store_true", help="with --baseline: time the baseline's demo too (long)")
    args = ap.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    base.mkdir(parents=True, exist_ok=True)
    env_cold = {"PREFECT_API_URL": ""}
    env_base = baseline_env(args.baseline) if args.baseline else None
    loads = [os.getloadavg()[0]]
    print(f"{os.cpu_count()} cores; load average {loads[0]:.1f} at the start")

    run_cold = best(lambda: run_one(base / "run-cold", env_cold), args.repeat)
    clips = sorted((base / "run-cold").rglob("*.mp4"))
    if not clips:
        raise SystemExit("the run made no clip")
    clip = clips[0]
    import av

    with av.open(str(clip)) as c:
        v = c.streams.video[0]
        info = {"width": v.codec_context.width, "height": v.codec_context.height, "duration": (c.duration or 0) / 1e6}
    enc = best(lambda: reencode(clip, base / "reencode.mp4"), args.repeat)
    empty_cold = best(lambda: timed([sys.executable, "-c", EMPTY_FLOW], env_cold), args.repeat)
    was: dict[str, Took] = {}
    if env_base:
        was["run"] = best(lambda: run_one(base / "run-cold-baseline", {**env_cold, **env_base}), args.repeat)
        was["empty"] = best(lambda: timed([sys.executable, "-c", EMPTY_FLOW], {**env_cold, **env_base}), args.repeat)

    from flows.runtime import embedded_api, quiet_prefect

    t = time.perf_counter()
    with quiet_prefect(), embedded_api() as url:
        api_start = time.perf_counter() - t
        warm = {"PREFECT_API_URL": url or os.environ.get("PREFECT_API_URL", "")}
        empty_warm = best(lambda: timed([sys.executable, "-c", EMPTY_FLOW], warm), args.repeat)
        run_warm = best(lambda: run_one(base / "run-warm", warm), args.repeat)
        loads.append(os.getloadavg()[0])
        demo = None
        if not args.no_demo:
            import json

            def run_demo(folder: Path, env: dict) -> tuple[Took, int]:
                shutil.rmtree(folder, ignore_errors=True)
                took = timed([PRODUCTREEL, "demo", "--out", str(folder)], env)
                # Jobs from the run's summary (the publish folder holds copies of the same clips).
                return took, len(json.loads((folder / "summary.json").read_text(encoding="utf-8"))["jobs"])

            demo, demo_clips = run_demo(base / "demo", warm)
            if env_base and args.demo_baseline:
                was["demo"], _ = run_demo(base / "demo-baseline", {**warm, **env_base})
    loads.append(os.getloadavg()[0])

    dur = float(info.get("duration") or 0)
    print(f"clip: {clip.name}, {info.get('width')}x{info.get('height')}, {dur:.1f} s")
    print(f"x264 veryfast re-encode of the clip:      {enc:6.2f} s ({enc.cpu:5.1f} s CPU)")
    if "run" in was:
        print(f"productreel run, cold, {args.baseline:>10}:     {fmt(was['run'], enc)}")
    print(f"productreel run, cold (own embedded API): {fmt(run_cold, enc, ' (target ≤ 2.5×)')}")
    print(f"productreel run, warm (API running):      {fmt(run_warm, enc, ' (target ≤ 2.5×)')}")
    if "empty" in was:
        print(f"empty flow, cold, {args.baseline:>10}:          {fmt(was['empty'], enc)}")
    print(f"empty flow, cold (starts its API):        {fmt(empty_cold, enc, ' (target ≤ 5 s)')}")
    print(f"empty flow, warm (API running):           {fmt(empty_warm, enc, ' (target ≤ 2 s)')}")
    print(f"  (starting the local API once took {api_start:.2f} s)")
    if demo is not None:
        if "demo" in was:
            print(f"demo, warm API, {args.baseline}: {demo_clips} clips in {fmt(was['demo'], enc)}")
        print(f"demo, warm API: {demo_clips} clips in {fmt(demo, enc, ' (target ≤ 90 s)')}")
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
