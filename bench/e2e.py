"""Benchmark: a whole `productreel run` against the encode of its own clip, Prefect's start-up, and the demo.

Measured in one run, on the same machine (issue #18 targets, on an idle 2-core machine):

1. ``productreel run`` for one 15 s 9:16 ad (sample catalog, market de), start-up included, against an x264
   veryfast re-encode of the clip it made: at most 2.5×. Timed cold (the CLI starts its embedded API), warm
   through a running `productreel server` (the run is sent to it), and warm in its own process
   (``--no-server``: the CLI imports Prefect and reuses the server's API).
2. An empty run of the embedded default: at most 5 s cold (nothing running), at most 2 s warm (a local API
   already running). Two ways: the CLI's own ``productreel run`` on a catalog with no products (a real
   catalog-batch flow run with no jobs: summary, review page and all), and the raw script (a fresh
   Python process running an empty ``@flow`` as the CLI does: ``start_api_early``, ``embedded_api``).
3. ``productreel demo`` (18 clips) end to end, sent to the server: at most 90 s. Long; ``--no-demo`` skips it.

Every command runs with a PREFECT_HOME of its own (in ``--out``; its database made once, untimed, before the
cold figures). The warm API is a `productreel server` this script starts (``starting the server once``); each
timed command is a fresh process, so interpreter and import start-up are in every figure, and its CPU seconds
(its own and its children's: the API server, FFmpeg) are printed beside the wall seconds; a run sent to the
server does its work in a child of the server, so the CPU of the server (its own and its reaped children's)
and of its API process is read from /proc before and after and added. The machine may be shared: the load average is printed, and ratios and CPU
seconds taken in the same run are what to compare.

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


def _proc_cpu(pid: int) -> float:
    """CPU seconds of process ``pid``: its own and its reaped children's (utime, stime, cutime, cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


SERVER_PID: list[int] = []  # the `productreel server` whose CPU a timed command's runs add to


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> Took:
    """Wall and CPU seconds of one command in a fresh process (and of the server's runs for it); raises when it fails."""
    before = os.times()
    server_before = sum(_proc_cpu(p) for p in SERVER_PID)
    t = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True)
    took = Took(time.perf_counter() - t)
    after = os.times()
    took.cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    took.cpu += sum(_proc_cpu(p) for p in SERVER_PID) - server_before
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({proc.returncode}):\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
    if "running here" in proc.stderr:
        raise SystemExit(f"{' '.join(cmd[:4])}… fell back to its own process:\n{proc.stderr[-800:]}")
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


def run_one(out: Path, env: dict | None = None, *extra: str) -> Took:
    """`productreel run` for one ad for de into a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    return timed([PRODUCTREEL, "run", "--catalog", "samples/catalog.csv", "--markets", "de", "--kinds", "ad", "--limit", "1",
                  "--out", str(out), *extra], env)


def run_empty(catalog: Path, out: Path, env: dict | None = None, *extra: str) -> Took:
    """`productreel run` on a catalog with no products: a catalog-batch flow run with no jobs."""
    shutil.rmtree(out, ignore_errors=True)
    return timed([PRODUCTREEL, "run", "--catalog", str(catalog), "--markets", "de", "--kinds", "ad", "--out", str(out),
                  *extra], env)


def start_server(env: dict) -> tuple[subprocess.Popen, float]:
    """`productreel server` for env's PREFECT_HOME, and the seconds until it takes runs."""
    import json

    state = Path(env["PREFECT_HOME"]) / "productreel-api.json"
    t = time.perf_counter()
    proc = subprocess.Popen([PRODUCTREEL, "server"], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    while True:
        try:
            if "submit" in json.loads(state.read_text(encoding="utf-8")):
                return proc, time.perf_counter() - t
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            raise SystemExit(f"productreel server exited ({proc.returncode}): {proc.stderr.read()[-1500:]}")
        time.sleep(0.02)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fmt(took: Took, enc: Took, target: str = "") -> str:
    """``wall s (cpu s CPU) = ratio× the encode``."""
    return f"{took:6.2f} s ({took.cpu:5.1f} s CPU) = {took / enc:4.2f}× the encode{target}"


def secs(took: Took, target: str = "") -> str:
    """``wall s (cpu s CPU)``."""
    return f"{took:6.2f} s ({took.cpu:5.1f} s CPU){target}"


def main() -> None:
    """Print the run/encode ratio, the empty run's start-up cold and warm, and the demo's wall time."""
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
    home = base / "prefect-home"
    env_cold = {"PREFECT_API_URL": "", "PREFECT_HOME": str(home)}
    env_base = baseline_env(args.baseline) if args.baseline else None
    empty = base / "empty.csv"
    empty.write_text((ROOT / "samples" / "catalog.csv").read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    loads = [os.getloadavg()[0]]
    print(f"{os.cpu_count()} cores; load average {loads[0]:.1f} at the start")
    run_empty(empty, base / "empty-setup", env_cold)  # untimed: Prefect's database made once

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
    cli_empty_cold = best(lambda: run_empty(empty, base / "empty-cold", env_cold), args.repeat)
    was: dict[str, Took] = {}
    if env_base:
        was["run"] = best(lambda: run_one(base / "run-cold-baseline", {**env_cold, **env_base}), args.repeat)
        was["empty"] = best(lambda: timed([sys.executable, "-c", EMPTY_FLOW], {**env_cold, **env_base}), args.repeat)
        was["cli-empty"] = best(lambda: run_empty(empty, base / "empty-cold-baseline", {**env_cold, **env_base}),
                                args.repeat)

    server, server_start = start_server(env_cold)
    import json

    SERVER_PID.extend([server.pid, int(json.loads((home / "productreel-api.json").read_text())["server_pid"])])
    demo = None
    try:
        warm = dict(env_cold)
        empty_warm = best(lambda: timed([sys.executable, "-c", EMPTY_FLOW], warm), args.repeat)
        cli_empty_warm = best(lambda: run_empty(empty, base / "empty-warm", warm), args.repeat)
        cli_empty_here = best(lambda: run_empty(empty, base / "empty-here", warm, "--no-server"), args.repeat)
        run_warm = best(lambda: run_one(base / "run-warm", warm), args.repeat)
        run_here = best(lambda: run_one(base / "run-here", warm, "--no-server"), args.repeat)
        loads.append(os.getloadavg()[0])
        if not args.no_demo:
            def run_demo(folder: Path, env: dict) -> tuple[Took, int]:
                shutil.rmtree(folder, ignore_errors=True)
                took = timed([PRODUCTREEL, "demo", "--out", str(folder)], env)
                # Jobs from the run's summary (the publish folder holds copies of the same clips).
                return took, len(json.loads((folder / "summary.json").read_text(encoding="utf-8"))["jobs"])

            demo, demo_clips = run_demo(base / "demo", warm)
            if env_base and args.demo_baseline:
                was["demo"], _ = run_demo(base / "demo-baseline", {**warm, **env_base})
    finally:
        SERVER_PID.clear()
        stop_server(server)
    loads.append(os.getloadavg()[0])

    dur = float(info.get("duration") or 0)
    print(f"clip: {clip.name}, {info.get('width')}x{info.get('height')}, {dur:.1f} s")
    print(f"x264 veryfast re-encode of the clip:        {enc:6.2f} s ({enc.cpu:5.1f} s CPU)")
    if "run" in was:
        print(f"productreel run, cold, {args.baseline:>10}:       {fmt(was['run'], enc)}")
    print(f"productreel run, cold (own embedded API):   {fmt(run_cold, enc, ' (target ≤ 2.5×)')}")
    print(f"productreel run, warm, sent to the server:  {fmt(run_warm, enc, ' (target ≤ 2.5×)')}")
    print(f"productreel run, warm, --no-server:         {fmt(run_here, enc)}")
    print(f"  sent to the server / in its own process: {run_warm / run_here:4.2f}× wall, "
          f"{run_warm.cpu / max(run_here.cpu, 1e-9):4.2f}× CPU")
    if "cli-empty" in was:
        print(f"empty productreel run, cold, {args.baseline:>10}: {secs(was['cli-empty'])}")
    print(f"empty productreel run, cold (nothing runs): {secs(cli_empty_cold, ' (target ≤ 5 s)')}")
    print(f"empty productreel run, warm, to the server: {secs(cli_empty_warm, ' (target ≤ 2 s)')}")
    print(f"empty productreel run, warm, --no-server:   {secs(cli_empty_here)}")
    print(f"  sent to the server / in its own process: {cli_empty_warm / cli_empty_here:4.2f}× wall")
    if "empty" in was:
        print(f"empty flow script, cold, {args.baseline:>10}:     {secs(was['empty'])}")
    print(f"empty flow script, cold (starts its API):   {secs(empty_cold, ' (target ≤ 5 s)')}")
    print(f"empty flow script, warm (API running):      {secs(empty_warm, ' (target ≤ 2 s)')}")
    print(f"  (starting the server once, until it takes runs: {server_start:.2f} s)")
    if demo is not None:
        if "demo" in was:
            print(f"demo, warm API, {args.baseline}: {demo_clips} clips in {fmt(was['demo'], enc)}")
        print(f"demo, sent to the server: {demo_clips} clips in {fmt(demo, enc, ' (target ≤ 90 s)')}")
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
