"""Compliance fixtures: a factory for tiny rendered clips (helpers.py has markets and storyboards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .clipmaker import make_clip


@pytest.fixture
def clip_factory(tmp_path: Path):
    """make(name, **make_clip kwargs) -> path of a tiny MP4 in tmp_path."""

    def make(name: str = "clip.mp4", **kw) -> Path:
        return make_clip(tmp_path / name, **kw)

    return make
