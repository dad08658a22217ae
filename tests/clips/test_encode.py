"""The encoder pipe: zero-copy writes must deliver every frame intact while buffers are recycled."""

from __future__ import annotations

import numpy as np
import pytest

from clips.encode import Encoder, ffmpeg_exe


def _raw_copy_command(out, width: int, height: int) -> list[str]:
    """FFmpeg reading raw yuv420p and writing it back unchanged (so the bytes can be compared)."""
    return [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
            "-s", f"{width}x{height}", "-i", "pipe:0", "-c:v", "rawvideo", "-f", "rawvideo", str(out)]


@pytest.mark.parametrize("zero_copy", [True, False])
def test_recycled_buffers_arrive_intact(tmp_path, zero_copy):
    # 96x64 yuv420p is 9216 bytes: larger than a one-page pipe, so the zero-copy path is taken.
    w, h = 96, 64
    size = w * h * 3 // 2
    out = tmp_path / "frames.yuv"
    enc = Encoder(_raw_copy_command(out, w, h), pipe_size=4096, zero_copy=zero_copy)
    rng = np.random.default_rng(7)
    expected = [rng.integers(0, 256, size, dtype=np.uint8) for _ in range(40)]
    free: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for want in expected:
        buf = free.pop() if free else np.empty(size, np.uint8)
        buf[:] = want
        enc.write(buf)
        held.append(buf)
        while len(held) > enc.in_flight:  # the caller's side of the contract: recycle only what FFmpeg has read
            free.append(held.pop(0))
    enc.close()
    got = np.fromfile(out, np.uint8).reshape(len(expected), size)
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))
    if zero_copy and enc.pipe_size == 4096:
        assert enc.in_flight >= 1  # the zero-copy path was really used


def test_dead_encoder_is_a_render_error(tmp_path):
    from productreel.errors import RenderError

    enc = Encoder([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
                   "-s", "2x2", "-i", "pipe:0", "-f", "no-such-format", str(tmp_path / "x")], pipe_size=4096)
    with pytest.raises(RenderError, match="ffmpeg"):
        for _ in range(2000):
            enc.write(np.zeros(9216, np.uint8))
        enc.close()


def test_a_sandbox_without_vmsplice_falls_back_to_copying(tmp_path, monkeypatch):
    import errno

    w, h = 96, 64
    size = w * h * 3 // 2
    out = tmp_path / "frames.yuv"
    enc = Encoder(_raw_copy_command(out, w, h), pipe_size=4096)
    if enc._splice is None:
        pytest.skip("no vmsplice on this platform")

    def refuse(fd, addr, n):
        raise OSError(errno.EPERM, "Operation not permitted")

    enc._splice = refuse
    frames = [np.full(size, i, np.uint8) for i in range(5)]
    for f in frames:
        enc.write(f)
    enc.close()
    got = np.fromfile(out, np.uint8).reshape(len(frames), size)
    assert all(np.array_equal(g, f) for g, f in zip(got, frames))
