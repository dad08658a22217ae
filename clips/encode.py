"""FFmpeg: raw yuv420p frames streamed into libx264, muxed with the soundtrack, checked with ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from productreel.errors import RenderError

X264_PRESET = "veryfast"


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """An FFmpeg with libx264: imageio-ffmpeg's static build, else the system one."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # the wheel is missing or has no binary for this platform
        exe = shutil.which("ffmpeg")
        if not exe:
            raise RenderError("ffmpeg not found (install imageio-ffmpeg or run deploy/system-deps.sh)", where="encoder") from None
        return exe


def ffprobe_exe() -> str:
    """The system ffprobe (deploy/system-deps.sh installs it)."""
    exe = shutil.which("ffprobe")
    if not exe:
        raise RenderError("ffprobe not found (run deploy/system-deps.sh)", where="encoder")
    return exe


def encode_command(out: Path, width: int, height: int, fps: int, *, threads: int = 0) -> list[str]:
    """The FFmpeg command that encodes raw yuv420p frames from stdin into an H.264 High MP4 (video only)."""
    # The colour tags go on the input: frames are BT.709 limited range already, so FFmpeg passes them
    # through. Tags on the output alone make it insert a colour conversion that costs ~30 % more CPU.
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", str(fps),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        "-i", "pipe:0",
        "-c:v", "libx264", "-preset", X264_PRESET, "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-r", str(fps), "-fps_mode", "cfr",
    ]
    if threads:
        cmd += ["-threads", str(threads)]
    return cmd + ["-an", "-f", "mp4", str(out)]


def mux_command(video: Path, audio: Path | None, out: Path, *, metadata: dict[str, str] | None = None) -> list[str]:
    """Copy the video and the (already encoded, loudness-checked) AAC track into the delivery MP4:
    moov first (+faststart), not fragmented, with the job's metadata tags."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video)]
    if audio is not None:
        cmd += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0"]
    cmd += ["-c", "copy"]
    flags = "+faststart"
    for k, v in (metadata or {}).items():
        cmd += ["-metadata", f"{k}={v}"]
        if k not in ("title", "comment", "description"):
            flags += "+use_metadata_tags"  # custom keys (AIGC) need mdta tags to survive
    return cmd + ["-movflags", _dedupe(flags), "-f", "mp4", str(out)]


def run_ffmpeg(cmd: list[str], where: str) -> None:
    """Run an FFmpeg command; its last error line becomes a RenderError."""
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        lines = res.stderr.strip().splitlines()
        raise RenderError(f"ffmpeg failed: {lines[-1] if lines else res.returncode}", where=where)


def _dedupe(flags: str) -> str:
    seen: list[str] = []
    for f in flags.split("+"):
        if f and f not in seen:
            seen.append(f)
    return "+" + "+".join(seen)


class Encoder:
    """A running FFmpeg process fed raw frames through a pipe (frames never pile up in memory)."""

    def __init__(self, cmd: list[str]) -> None:
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        try:  # a 1 MiB pipe instead of 64 KiB: a frame crosses in 3 writes, not 48 context switches
            import fcntl

            fcntl.fcntl(self.proc.stdin.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except (ImportError, OSError):
            pass

    def write(self, frame) -> None:
        """Send one frame (bytes or a buffer); a dead encoder becomes a RenderError with its message."""
        view = memoryview(frame).cast("B")
        try:
            while view:
                n = self.proc.stdin.write(view)
                view = view[n:]
        except (BrokenPipeError, OSError) as exc:
            err = self._stderr()
            raise RenderError(f"ffmpeg stopped: {err}", where="encoder") from exc

    def _stderr(self) -> str:
        try:
            self.proc.wait(timeout=10)
            return (self.proc.stderr.read() or b"").decode(errors="replace").strip().splitlines()[-1:][0] if self.proc.stderr else ""
        except Exception:  # noqa: BLE001 - best effort for the message only
            return "no message"

    def close(self) -> None:
        """Finish the file; raise RenderError when FFmpeg fails."""
        self.proc.stdin.close()
        rc = self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
        if rc != 0:
            raise RenderError(f"ffmpeg exited with {rc}: {err.splitlines()[-1] if err else 'no message'}", where="encoder")

    def kill(self) -> None:
        """Stop FFmpeg after a failure elsewhere."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def probe(path: Path) -> dict:
    """ffprobe's JSON for a file: format and streams."""
    res = subprocess.run(
        [ffprobe_exe(), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True,
    )
    if res.returncode != 0:
        raise RenderError(f"ffprobe cannot read the file: {res.stderr.strip()[:200]}", where=str(path))
    return json.loads(res.stdout)
