"""Atomic file writes: readers see the old file or the new one, never half of either.

Every write goes to a temporary file with a unique name (``tempfile.mkstemp``)
in the target's own folder, is flushed to disk, then renamed over the target
with ``os.replace``. A fixed temporary name (``target.tmp``) would let two
threads writing the same target interleave; a temporary file in another folder
could sit on another file system, where a rename is a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once at import, before threads start writing.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (parents created); ``mode`` sets the file's permissions."""
    return _write(path, lambda fh: fh.write(data), mode)


def copy_file(src: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Copy the file ``src`` to ``path`` atomically, streamed (a video never sits in memory whole)."""

    def copy(fh: BinaryIO) -> None:
        with open(src, "rb") as inp:
            shutil.copyfileobj(inp, fh, 1 << 20)

    return _write(path, copy, None)


def _write(path: str | os.PathLike[str], fill: Callable[[BinaryIO], object], mode: int | None) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            # mkstemp makes 0600 files; a written artefact gets the mode open() would have given it.
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode(encoding), mode=mode)


def write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 2, sort_keys: bool = False, **dumps: Any) -> Path:
    """Write ``data`` as JSON (UTF-8, trailing newline) to ``path`` atomically."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False, **dumps)
    return write_text(path, text + "\n")


def temp_path(path: str | os.PathLike[str], suffix: str = "") -> Path:
    """A unique, not-yet-existing path beside ``path`` for a tool that writes its own output (FFmpeg, c2pa).

    The caller renames it over ``path`` with ``os.replace`` when the tool succeeds and unlinks it otherwise.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{suffix or target.suffix}")
    os.close(fd)
    os.unlink(tmp)  # the tool creates it; FFmpeg with -y would overwrite, c2pa refuses an existing file
    return Path(tmp)
