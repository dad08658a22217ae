"""Domain models shared by every stage: the data that flows left to right.

Product -> LocalizedProduct -> Storyboard -> RenderedClip -> ComplianceReport -> PublishReceipt
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

Severity = Literal["BLOCK", "FIX", "WARN", "INFO"]
ClipKind = Literal["ad", "tutorial"]
Origin = Literal["catalog", "glossary", "machine", "fallback", "source"]

FORMATS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "4:5": (1080, 1350),
    "16:9": (1920, 1080),
}


def stable_hash(data: Any) -> str:
    """A short sha256 of ``data`` serialised as canonical JSON."""
    blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


class Variant(BaseModel):
    """One purchasable variant of a product."""

    sku: str = ""
    title: str = ""
    options: dict[str, str] = Field(default_factory=dict)
    price: Decimal | None = None
    currency: str = "USD"
    compare_at_price: Decimal | None = None
    gtin: str = ""


class ProductImage(BaseModel):
    """A product photo: where it comes from and, once fetched, the local file."""

    src: str
    alt: str = ""
    path: Path | None = None


class Translation(BaseModel):
    """The catalog's own translation of a product for one locale."""

    title: str = ""
    description: str = ""
    features: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)


class MarketPrice(BaseModel):
    """A price the catalog sets for one market (Shopify Markets, feeds)."""

    amount: Decimal
    currency: str
    compare_at: Decimal | None = None


class Product(BaseModel):
    """A catalog product, whatever source it was read from."""

    id: str
    handle: str
    title: str
    description: str = ""
    description_html: str = ""
    brand: str = ""
    category: str = ""
    tags: list[str] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)
    images: list[ProductImage] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    translations: dict[str, Translation] = Field(default_factory=dict)
    prices: dict[str, MarketPrice] = Field(default_factory=dict)
    updated_at: datetime | None = None
    source: str = ""  # where it was read: "catalog.csv:12" or an API id

    @property
    def price(self) -> Decimal | None:
        """The lowest variant price (what an ad says 'from')."""
        prices = [v.price for v in self.variants if v.price is not None]
        return min(prices) if prices else None

    @property
    def currency(self) -> str:
        """The catalog currency of the first variant."""
        return self.variants[0].currency if self.variants else "USD"

    @property
    def compare_at_price(self) -> Decimal | None:
        """The compare-at price of the cheapest variant, when it shows a reduction."""
        priced = [v for v in self.variants if v.price is not None]
        if not priced:
            return None
        cheapest = min(priced, key=lambda v: v.price)
        cap = cheapest.compare_at_price
        return cap if cap is not None and cap > cheapest.price else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_hash(self) -> str:
        """A hash of everything that affects a video, and nothing else."""
        return stable_hash(
            {
                "title": self.title,
                "description": self.description,
                "brand": self.brand,
                "variants": [
                    [str(v.price), v.currency, str(v.compare_at_price), v.title, v.options]
                    for v in self.variants
                ],
                "images": [[i.src, i.alt] for i in self.images],
                "features": self.features,
                "steps": self.steps,
                "translations": {k: v.model_dump() for k, v in sorted(self.translations.items())},
                "prices": {k: v.model_dump(mode="json") for k, v in sorted(self.prices.items())},
            }
        )


class Market(BaseModel):
    """A market: language, currency, tax display, units, fonts, voice, legal lines."""

    model_config = ConfigDict(extra="allow")

    code: str
    name: str
    locale: str
    language: str
    currency: str
    tax_inclusive: bool = False
    tax_label: str = ""
    measurement: Literal["metric", "imperial"] = "metric"
    fonts: list[str] = Field(default_factory=list)
    rtl: bool = False
    numbering: Literal["latn", "native"] = "latn"
    caption_chars_per_line: int = 42
    caption_chars_per_second: float = 17.0
    voice: str = ""
    ad_label: str = ""
    ai_label: str = ""
    legal_lines: list[str] = Field(default_factory=list)
    prior_price_label: str = ""
    eu: bool = False
    destinations: list[str] = Field(default_factory=lambda: ["folder"])
    catalog_markets: list[str] = Field(default_factory=list)  # names used in the catalog's price columns
    cta: str = ""


class LocalizedText(BaseModel):
    """A string for one market and where it came from."""

    text: str
    origin: Origin = "catalog"


class LocalizedProduct(BaseModel):
    """A product's text and prices for one market, with provenance per string."""

    product_id: str
    handle: str
    market: str
    locale: str
    title: LocalizedText
    description: LocalizedText
    features: list[LocalizedText] = Field(default_factory=list)
    steps: list[LocalizedText] = Field(default_factory=list)
    cta: LocalizedText | None = None
    price_amount: Decimal | None = None
    currency: str = ""
    price_text: str | None = None  # formatted, e.g. "49,99 €"; None leaves the price overlay out
    compare_at_text: str | None = None
    prior_price_text: str | None = None
    tax_text: str = ""
    findings: list[Finding] = Field(default_factory=list)


class Script(BaseModel):
    """What a clip says: rendered from a template for one kind and market."""

    kind: ClipKind
    hook: str = ""
    lines: list[str] = Field(default_factory=list)
    cta: str = ""
    steps: list[str] = Field(default_factory=list)
    voiceover: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    templates: dict[str, str] = Field(default_factory=dict)  # template name -> content hash


class TextOverlay(BaseModel):
    """Text drawn on a scene; times are relative to the scene start."""

    role: Literal["title", "price", "compare_at", "prior_price", "tax", "cta", "step", "body", "label", "disclosure", "logo"]
    text: str
    start: float = 0.0
    end: float | None = None


class Shot(BaseModel):
    """What a scene shows: a product photo with motion, or a generated shot."""

    kind: Literal["image", "generated", "color"] = "image"
    image: Path | None = None
    motion: Literal["zoom_in", "zoom_out", "pan_left", "pan_right", "none"] = "zoom_in"
    crop: tuple[float, float, float, float] | None = None  # close-up box, normalised x0, y0, x1, y1
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    video: Path | None = None  # frames of a generated shot, once made


class Scene(BaseModel):
    """One scene of a storyboard."""

    duration: float
    shot: Shot
    overlays: list[TextOverlay] = Field(default_factory=list)
    transition: Literal["cut", "crossfade", "slide"] = "crossfade"
    step: int | None = None  # tutorial step number


class Cue(BaseModel):
    """One caption cue."""

    start: float
    end: float
    text: str


class Storyboard(BaseModel):
    """Everything the renderer needs to make one clip."""

    job_key: str
    product_handle: str
    market: str
    locale: str
    kind: ClipKind
    format: str
    width: int
    height: int
    fps: int = 30
    scenes: list[Scene]
    voiceover: str = ""
    captions: list[Cue] = Field(default_factory=list)
    burn_captions: bool = False
    music: str | None = None
    fonts: list[Path] = Field(default_factory=list)
    rtl: bool = False
    destination: str = "folder"
    brand: str = "default"
    loudness_target: float = -14.0
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Total length in seconds."""
        return sum(s.duration for s in self.scenes)

    @property
    def has_generated(self) -> bool:
        """True when any shot is generated by a model."""
        return any(s.shot.kind == "generated" for s in self.scenes)


class RenderedClip(BaseModel):
    """A finished MP4 and its sidecars."""

    job_key: str
    product_handle: str
    market: str
    kind: ClipKind
    format: str
    video: Path
    srt: Path | None = None
    vtt: Path | None = None
    poster: Path | None = None
    metadata: Path | None = None
    duration: float = 0.0
    width: int = 0
    height: int = 0
    has_generated: bool = False


class Finding(BaseModel):
    """One compliance finding with its evidence."""

    rule: str
    severity: Severity
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    source: str = ""


class ComplianceReport(BaseModel):
    """All findings for one clip in one market and destination."""

    clip: str
    market: str
    destination: str = "folder"
    findings: list[Finding] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """True when no finding blocks publishing."""
        return not any(f.severity == "BLOCK" for f in self.findings)


class PublishReceipt(BaseModel):
    """What a destination did with a clip."""

    destination: str
    job_key: str
    status: Literal["published", "replaced", "unchanged", "failed", "dry-run", "skipped"]
    remote_id: str = ""
    url: str = ""
    path: str = ""
    detail: str = ""
    published_at: datetime | None = None


class Destination(BaseModel):
    """Where clips are published: a publisher name and its options (never secrets)."""

    name: str = "folder"  # a key of publishers.PUBLISHERS
    options: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = False


class Job(BaseModel):
    """The unit of work: one product, market, clip kind and format."""

    handle: str
    market: str
    kind: ClipKind
    format: str
    key: str = ""

    @property
    def id(self) -> str:
        """A readable identity, stable across runs."""
        return f"{self.handle}/{self.market}/{self.kind}/{self.format}"


LocalizedProduct.model_rebuild()
