"""Brand kits and destination profiles: the data files the renderer reads its look and limits from."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from productreel.errors import InputError

HERE = Path(__file__).resolve().parent
BRANDS_DIR = HERE / "brands"
DESTINATIONS_FILE = HERE / "destinations.yaml"
FONT_DIRS = [
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts"),
]


class SafeZone(BaseModel):
    """Fractions of the frame that platform UI covers; text stays out of them."""

    top: float = 0.05
    bottom: float = 0.05
    left: float = 0.05
    right: float = 0.05

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The safe rectangle (x0, y0, x1, y1) in pixels for a frame size."""
        # Rounded inwards to even pixels: frames are 4:2:0, so boxes sit on even coordinates.
        def up(v: float) -> int:
            return int(math.ceil(v / 2) * 2)

        def down(v: float) -> int:
            return int(math.floor(v / 2) * 2)

        return (up(width * self.left), up(height * self.top), down(width * (1 - self.right)), down(height * (1 - self.bottom)))


class DestinationProfile(BaseModel):
    """What a destination needs from a clip: safe zone per format, loudness, limits."""

    name: str
    safe: SafeZone = Field(default_factory=SafeZone)
    loudness_lufs: float = -14.0
    true_peak_dbtp: float = -1.0
    max_duration_s: float = 600
    burn_captions: bool = False


class BrandKit(BaseModel):
    """A brand's look: colors, fonts, logo, intro/outro cards and music."""

    name: str = "default"
    colors: dict[str, str] = Field(default_factory=dict)
    fonts: dict[str, list[str]] = Field(default_factory=dict)
    logo: Path | None = None
    intro: dict[str, Any] | None = None
    outro: dict[str, Any] | None = None
    music: str | None = None
    corner_radius: float = 0.035

    def color(self, name: str) -> tuple[int, int, int, int]:
        """A named brand color as RGBA."""
        return parse_color(self.colors.get(name, "#000000"))

    def font_files(self, kind: str = "heading") -> list[Path]:
        """Font files for 'heading' or 'body', resolved on this machine."""
        return [p for p in (find_font(n) for n in self.fonts.get(kind, [])) if p is not None]


def parse_color(value: str) -> tuple[int, int, int, int]:
    """'#RRGGBB' or '#RRGGBBAA' as an RGBA tuple."""
    v = value.lstrip("#")
    if len(v) not in (6, 8):
        raise InputError(f"color {value!r} is not #RRGGBB or #RRGGBBAA", where="brand kit")
    rgba = [int(v[i : i + 2], 16) for i in range(0, len(v), 2)]
    return tuple(rgba + [255] * (4 - len(rgba)))  # type: ignore[return-value]


@lru_cache(maxsize=256)
def find_font(name: str) -> Path | None:
    """A font file by path or file name, searched in the system font folders."""
    p = Path(name)
    if p.is_absolute():
        return p if p.exists() else None
    for d in FONT_DIRS:
        hit = d / name
        if hit.exists():
            return hit
    for d in FONT_DIRS:
        if d.exists():
            for hit in d.rglob(name):
                return hit
    return None


@lru_cache(maxsize=32)
def load_brand(name: str = "default", directory: Path | None = None) -> BrandKit:
    """The brand kit `<directory>/<name>.yaml` (a path to a YAML file works too)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else Path(directory or BRANDS_DIR) / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in Path(directory or BRANDS_DIR).glob("*.yaml"))
        raise InputError(f"brand kit {name!r} not found; known: {', '.join(known)}", where=str(path))
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if name != "default":
        base = load_brand("default").model_dump()
        for key in ("colors", "fonts"):
            data[key] = {**base[key], **(data.get(key) or {})}
    if data.get("logo"):
        data["logo"] = (path.parent / data["logo"]).resolve()
    try:
        return BrandKit(**data)
    except Exception as exc:  # pydantic's message names the bad field
        raise InputError(f"brand kit is invalid: {exc}".splitlines()[0], where=str(path)) from exc


@lru_cache(maxsize=1)
def _destinations() -> dict[str, Any]:
    return yaml.safe_load(DESTINATIONS_FILE.read_text(encoding="utf-8"))


def destination_names() -> list[str]:
    """Every destination that has a profile."""
    return sorted(_destinations()["destinations"])


def destination_profile(name: str, fmt: str) -> DestinationProfile:
    """The profile of destination `name` for format `fmt` (unknown names get the defaults)."""
    data = _destinations()
    merged: dict[str, Any] = dict(data.get("defaults", {}))
    dest = data["destinations"].get(name) or {}
    merged.update({k: v for k, v in dest.items() if k != "formats"})
    merged.update((dest.get("formats") or {}).get(fmt, {}))
    return DestinationProfile(name=name, **merged)


def safe_box(destination: str, fmt: str, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel rectangle all text must stay inside, for a destination and format."""
    return destination_profile(destination, fmt).safe.box(width, height)
