"""Ad styles as data: one YAML file per style under templates/styles/ (colours come from the brand kit)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from productreel.errors import InputError

STYLES_DIR = Path(__file__).resolve().parent.parent / "templates" / "styles"
DEFAULT_STYLE = "studio"


class ProductMotion(BaseModel):
    """How the cutout product moves: scale-in, parallax drift against the backdrop, shadow strength."""

    scale_in: float = 0.9
    drift: float = 0.025
    shadow: float = 0.4


class TextStyle(BaseModel):
    """How text looks and comes in."""

    animate: Literal["line", "word", "fade"] = "line"
    title_size: float = 0.075
    title_case: Literal["none", "upper"] = "none"
    align: Literal["center", "start"] = "center"


class PriceStyle(BaseModel):
    """How the price is drawn."""

    shape: Literal["chip", "burst", "plain"] = "chip"
    compare_at: bool = True


class EndCard(BaseModel):
    """The last scene: logo, product, price and CTA."""

    beats: int = 4
    product: float = 0.78  # product size on the end card relative to its hero size


class Style(BaseModel):
    """One designed ad style."""

    name: str
    description: str = ""
    music: str | None = None
    backdrop: Literal["studio", "block", "minimal", "social"] = "studio"
    tint: Literal["photo", "brand", "product"] = "photo"
    product: ProductMotion = Field(default_factory=ProductMotion)
    text: TextStyle = Field(default_factory=TextStyle)
    price: PriceStyle = Field(default_factory=PriceStyle)
    captions: Literal["box", "highlight"] = "box"
    burn_captions: bool = False
    transition: Literal["crossfade", "cut"] = "crossfade"
    end_card: EndCard = Field(default_factory=EndCard)


def list_styles() -> list[str]:
    """The names of the styles shipped in templates/styles/."""
    return sorted(p.stem for p in STYLES_DIR.glob("*.yaml"))


@lru_cache(maxsize=32)
def load_style(name: str = DEFAULT_STYLE) -> Style:
    """A style by name (templates/styles/<name>.yaml) or by a path to a YAML file."""
    path = Path(name) if str(name).endswith((".yaml", ".yml")) else STYLES_DIR / f"{name}.yaml"
    if not path.exists():
        raise InputError(f"unknown style {name!r}; known: {', '.join(list_styles())}", where="style")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("name", path.stem)
    try:
        return Style.model_validate(data)
    except ValueError as exc:
        raise InputError(f"style {path.name} is not valid: {exc}", where="style") from exc
