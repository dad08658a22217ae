"""Domain models shared by every stage: the data that flows left to right.

Product -> LocalizedProduct -> Storyboard -> RenderedClip -> ComplianceReport -> PublishReceipt
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_serializer

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
    # Markets the catalog says the product is not sold in (Shopify "Included / Japan" FALSE), lower-case,
    # as the catalog names them ("japan") or as a country/market code ("jp"); plan_jobs makes nothing there.
    not_sold_in: list[str] = Field(default_factory=list)
    link: str = ""  # where the product is bought (a WooCommerce external product's URL)
    cta: str = ""  # the catalog's own call to action (a WooCommerce external product's button text)

    def sold_in(self, market: Market | str) -> bool:
        """False when the catalog excludes this market (matched on its code, name and catalog market names)."""
        if not self.not_sold_in:
            return True
        if isinstance(market, str):
            names = {market.strip().lower()}
        else:
            names = {market.code.lower(), market.name.lower(), *(n.strip().lower() for n in market.catalog_markets)}
        return not names.intersection(self.not_sold_in)

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
                # only when set, so products without one keep the hashes they had
                **({"cta": self.cta} if self.cta else {}),
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
    """A string for one market and where it came from (a machine translation names its model and revision)."""

    text: str
    origin: Origin = "catalog"
    model: str | None = None  # origin "machine": the translation model's id
    revision: str | None = None  # and its pinned revision

    @model_serializer(mode="wrap")
    def _drop_unset_model(self, handler: Any) -> dict[str, Any]:
        # Strings no model wrote serialise as before: the localized text's hash is part of the job key.
        data = handler(self)
        if isinstance(data, dict) and self.model is None and self.revision is None:
            data.pop("model", None)
            data.pop("revision", None)
        return data


class CopyString(LocalizedText):
    """One string of a clip's localized copy, by field name (``title``, ``features[0]``, ``cta``), with its origin."""

    field: str


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

    def strings(self) -> list[CopyString]:
        """Every string of the copy with its field name and origin, in reading order (the summary's and review page's)."""
        named: list[tuple[str, LocalizedText | None]] = [("title", self.title), ("description", self.description)]
        named += [(f"features[{i}]", t) for i, t in enumerate(self.features)]
        named += [(f"steps[{i}]", t) for i, t in enumerate(self.steps)]
        named.append(("cta", self.cta))
        return [CopyString(field=name, **t.model_dump()) for name, t in named if t is not None and t.text]


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


class Cutout(BaseModel):
    """Where the product is in one photo: its box, a feathered mask (cached PNG) and how it was found.

    kind: "alpha" (the photo is already transparent), "studio" (segmented from a plain or gradient
    backdrop), "lifestyle" (busy backdrop: a salient box, the photo shown whole), "failed" (nothing found).
    """

    image: Path
    sha256: str
    width: int
    height: int
    kind: Literal["alpha", "studio", "lifestyle", "failed"]
    box: tuple[int, int, int, int]  # the product in image pixels: x0, y0, x1, y1
    mask: Path | None = None  # 8-bit alpha PNG, image-sized; None for lifestyle and failed
    background: tuple[int, int, int] | None = None  # the backdrop colour read from the border
    palette: list[tuple[int, int, int]] = Field(default_factory=list)  # the product's main colours
    coverage: float = 0.0  # share of the photo the product covers
    method: str = ""  # how it was found: "alpha", "grabcut", "saliency", "matting:<model>"
    reason: str = ""  # why a cutout failed

    @property
    def aspect(self) -> float:
        """The product box's width over its height."""
        x0, y0, x1, y1 = self.box
        return max(1, x1 - x0) / max(1, y1 - y0)


class Repairs(BaseModel):
    """Repairs the compliance loop asked for (clips.storyboard.apply_repair_hints records them; the layout reads them)."""

    contrast_box: bool = False
    text_scale: float = 1.0
    safe_zone: dict[str, float] | None = None  # margins (share of the frame) per side: top, bottom, left, right
    loudness: float | None = None
    labels: list[str] = Field(default_factory=list)  # label rule ids whose label is drawn larger and boxed
    recaption: bool = False
    air: float = 1.0  # room around the product (LAYOUT-1/-2 repairs): its box shrinks by this and text moves off it


class StoryboardMeta(BaseModel):
    """What a storyboard carries besides its scenes: inputs for the job key, provenance, cutouts and findings."""

    model_config = ConfigDict(extra="forbid")

    storyboard_version: str = ""
    profile: str = "full"
    style: str = "studio"
    templates: dict[str, str] = Field(default_factory=dict)  # template name -> content hash
    product_id: str = ""
    product_content_hash: str = ""
    market_hash: str = ""
    language: str = ""
    voice: str = ""
    ad_label: str = ""
    ai_label: str = ""
    ai_label_required: bool = False
    true_peak_dbtp: float = -1.0
    images: list[str] = Field(default_factory=list)
    image_alts: list[str] = Field(default_factory=list)
    prompt: str = ""
    negative_prompt: str = ""
    caption_chars_per_second: float = 15.0
    script_sentences: int = 0
    spoken_sentences: int = 0
    beat_s: float | None = None  # the music's beat: scene cuts land on it
    discount: str = ""  # the percent off as the market writes it ("-25 %"), when a compare-at price shows one
    cutouts: list[Cutout] = Field(default_factory=list)  # one per image in `images` order
    findings: list[Finding] = Field(default_factory=list)  # the input-quality gate on the photos (INPUT-1..4)
    repairs: Repairs = Field(default_factory=Repairs)
    # Set by clips.diffusion.fill_generated_shots.
    diffusion: dict[str, Any] | None = None
    digital_source_type: str = ""
    c2pa_assets: list[dict[str, Any]] = Field(default_factory=list)
    # Rights: the assets a clip uses (compliance.rights) and the model that made a generated shot.
    assets: list[dict[str, Any]] | None = None
    model: str = ""

    def cutout_for(self, image: Path | str | None) -> Cutout | None:
        """The cutout of one of the storyboard's images (None when it has none)."""
        if image is None:
            return None
        return next((c for c in self.cutouts if str(c.image) == str(image)), None)


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
    metadata: StoryboardMeta = Field(default_factory=StoryboardMeta)

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
    status: Literal["published", "replaced", "unchanged", "failed", "dry-run", "skipped", "taken-down"]
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


class JobStatus(str, Enum):
    """Where a job stands: running while a worker has it, then one of the four ends a run summary shows."""

    RUNNING = "running"
    RENDERED = "rendered"  # made and checked; no BLOCK finding
    BLOCKED = "blocked"  # made and checked; a BLOCK finding stops it
    FAILED = "failed"  # could not be made (bad input, a bug, a library error)
    SKIPPED = "skipped"  # unchanged since the run that made it: nothing was redone

    @property
    def finished(self) -> bool:
        """True for a job the ledger may skip next time (it was made under its key)."""
        return self in (JobStatus.RENDERED, JobStatus.BLOCKED)


# What may happen to a checked clip now (compliance.approvals.gate).
Verdict = Literal["publish", "needs-approval", "rejected", "blocked"]


class JobOutcome(BaseModel):
    """What happened to one job: the one record the ledger stores and the summary, review page and publish read.

    A catalog problem (a product that could not be read) is an outcome too, with
    empty market, kind and format.
    """

    handle: str
    market: str = ""
    kind: str = ""
    format: str = ""
    status: JobStatus
    job_key: str = ""
    source: str = ""  # where the product came from (file:row, URL)
    clip: str = ""
    poster: str = ""
    srt: str = ""
    vtt: str = ""
    metadata: str = ""  # the renderer's JSON sidecar
    duration: float = 0.0
    destination: str = "folder"
    findings: list[Finding] = Field(default_factory=list)
    verdict: Verdict | None = None  # None until the clip was checked
    receipt: PublishReceipt | None = None
    publish: str = ""  # what publishing did or waits for, in words: "published", "awaiting approval (L10N-1)", ...
    error: str = ""  # one line: what failed and where
    log: str = ""  # the traceback of an unexpected error, under <out>/logs/
    strings: list[CopyString] = Field(default_factory=list)  # the localized copy, each string with its origin

    @property
    def job_id(self) -> str:
        """handle/market/kind/format."""
        return f"{self.handle}/{self.market}/{self.kind}/{self.format}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """True when the clip may be published, now or after a person's approval."""
        return self.verdict in ("publish", "needs-approval")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def needs_approval(self) -> bool:
        """True while WARN findings wait for a person."""
        return self.verdict == "needs-approval"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def findings_count(self) -> int:
        """How many findings the clip has."""
        return len(self.findings)

    @property
    def report(self) -> ComplianceReport:
        """The findings as a compliance report."""
        return ComplianceReport(clip=self.clip or self.job_id, market=self.market, destination=self.destination,
                                findings=list(self.findings))

    def rendered_clip(self) -> RenderedClip:
        """The clip files as the publishers take them."""
        return RenderedClip(
            job_key=self.job_key, product_handle=self.handle, market=self.market, kind=self.kind,  # type: ignore[arg-type]
            format=self.format, video=Path(self.clip), srt=Path(self.srt) if self.srt else None,
            vtt=Path(self.vtt) if self.vtt else None, poster=Path(self.poster) if self.poster else None,
            metadata=Path(self.metadata) if self.metadata else None, duration=self.duration,
        )


LocalizedProduct.model_rebuild()
