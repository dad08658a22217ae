"""FFmpeg: raw yuv420p frames streamed into libx264, muxed with the soundtrack, checked with a PyAV probe."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from productreel import media
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


_F_SETPIPE_SZ, _F_GETPIPE_SZ = 1031, 1032


@lru_cache(maxsize=1)
def _vmsplice():
    """Linux vmsplice(2) through ctypes, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.vmsplice
    except (OSError, AttributeError):
        return None

    class IoVec(ctypes.Structure):
        _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]

    fn.argtypes = [ctypes.c_int, ctypes.POINTER(IoVec), ctypes.c_ulong, ctypes.c_uint]
    fn.restype = ctypes.c_ssize_t

    def splice(fd: int, addr: int, n: int) -> int:
        iov = IoVec(addr, n)
        got = fn(fd, ctypes.byref(iov), 1, 0)
        if got < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return got

    return splice


class Encoder:
    """A running FFmpeg process fed raw frames through a pipe (frames never pile up in memory).

    On Linux, frames at least as large as the pipe go in by vmsplice(2): the pipe takes references
    to the frame's pages instead of a copy (a 15 s 1080x1920 ad moves 1.4 GB; copying it cost
    ~0.25 CPU-s). Those pages are read by FFmpeg later, so the caller must leave the last
    `in_flight` frames it wrote untouched; with copying writes `in_flight` is 0.
    """

    def __init__(self, cmd: list[str], *, pipe_size: int = 1 << 20, zero_copy: bool = True) -> None:
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self.fd = self.proc.stdin.fileno()
        self.pipe_size = 0
        try:  # a 1 MiB pipe instead of 64 KiB: a frame crosses in 3 writes, not 48 context switches
            import fcntl

            fcntl.fcntl(self.fd, _F_SETPIPE_SZ, pipe_size)
            self.pipe_size = fcntl.fcntl(self.fd, _F_GETPIPE_SZ)
        except (ImportError, OSError):
            pass
        self._splice = _vmsplice() if zero_copy and self.pipe_size else None
        self.in_flight = 0

    def write(self, frame) -> None:
        """Send one frame (bytes or a buffer); a dead encoder becomes a RenderError with its message."""
        view = memoryview(frame).cast("B")
        try:
            if self._splice is not None and view.nbytes >= self.pipe_size and isinstance(frame, np.ndarray):
                # A frame at least a pipe long pushes every earlier frame out of the pipe: only the
                # one just written (kept as two for safety) may still be referenced.
                self.in_flight = 2
                addr, left = frame.ctypes.data, frame.nbytes
                try:
                    while left:
                        n = self._splice(self.fd, addr, left)
                        addr, left = addr + n, left - n
                    return
                except OSError as exc:
                    if exc.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL):
                        raise
                    # A sandbox without vmsplice (seccomp) or an unusual pipe: copy from here on.
                    self._splice = None
                    view = view[frame.nbytes - left :]
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
    """A file's format and streams in ffprobe's JSON shape (read with PyAV); RenderError when unreadable."""
    try:
        return media.probe(path)
    except media.ProbeError as exc:
        raise RenderError(f"cannot read the rendered file: {exc}", where=str(path)) from exc
