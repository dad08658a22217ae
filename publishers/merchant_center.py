"""The Merchant Center publisher: a supplemental feed (TSV) of ``id`` and ``video_link`` per market.

Merchant Center fetches videos from public URLs, so this destination publishes no bytes: it finds
the clip's public URL (the receipt of the same job key at youtube / shopify / woocommerce / folder, or
``options["base_url"]`` in front of the folder layout) and writes one row per item id. Clips with
no public URL yet are "skipped", and join the feed on a later publish.

Before a row is written the clip and its URL are checked against the ``video_link`` rules
(``video_link_problems``): 6-240 s, at most 500 MB, 9:16, 16:9 or 1:1, at least 720p, at most 10
links per item, and a stable public URL (a YouTube video URL or a direct video file, ASCII, at most
2,000 characters, no expiring signature). A clip that breaks one is "skipped" with one line per
broken rule in the receipt, and nothing is recorded, so a compliant render joins the feed later.

Files: ``<out>/published/merchant-center/<market>/videos.tsv`` (the feed to register in Merchant
Center as a supplemental data source) beside ``videos.json`` (the rows it is built from).
"""

from __future__ import annotations

import csv
import fcntl
import io
import ipaddress
import json
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from productreel import atomic
from productreel.errors import TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

from publishers.base import DONE_STATUSES, already_published, clip_stem, live_clips, now, record_taken_down, take_down_summary

# Where a public URL for the same job key may already be recorded, best first (YouTube is where
# Google's own product-video tools send videos).
URL_SOURCES = ("youtube", "shopify", "woocommerce", "folder")
MAX_VIDEO_LINKS = 10
MIN_DURATION_S, MAX_DURATION_S = 6.0, 240.0
MAX_SIZE_BYTES = 500 * 1000 * 1000  # 500 MB, read as decimal megabytes: the stricter reading
ASPECTS = {"9:16": 9 / 16, "16:9": 16 / 9, "1:1": 1.0}
MIN_SHORT_SIDE = 720
MAX_URL_CHARS = 2000
# Merchant Center's supported file formats (.MPG, .MP4, .WMV, .AVI, .MOV, .FLV, .MPEG-1, .MPEGPS).
VIDEO_EXTENSIONS = (".mp4", ".mpg", ".mpeg", ".mov", ".wmv", ".avi", ".flv")
YOUTUBE_URL = re.compile(
    r"^https?://(?:(?:www\.|m\.)?youtube\.com/(?:watch\?(?:[^#]*&)?v=|shorts/|embed/)|youtu\.be/)[A-Za-z0-9_-]{6,}")
# Query parameters of signed, expiring URLs (S3, GCS, CDNs): such a link stops working, so it is not stable.
EXPIRING_PARAMS = {"x-amz-signature", "x-amz-expires", "x-goog-signature", "x-goog-expires", "expires", "signature",
                   "googleaccessid", "sig", "se", "token", "policy", "key-pair-id"}
_LOCK = threading.Lock()


class MerchantCenterPublisher:
    """Adds published clips to a Merchant Center supplemental video feed."""

    name = "merchant-center"

    def publish(
        self, clip: RenderedClip, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path
    ) -> PublishReceipt:
        """Add a row for the clip's public URL; "skipped" when it has none yet, "unchanged" when already in."""
        dest = destination.name or self.name
        done = already_published(ledger, clip.job_key, dest)
        if done is not None:
            return done
        options = destination.options
        url = public_video_url(clip, ledger, options)
        feed_dir = Path(options.get("path") or Path(out_dir) / "published" / "merchant-center") / clip.market
        if not url:
            return PublishReceipt(
                destination=dest, job_key=clip.job_key, status="skipped",
                detail="no public video URL yet: publish to shopify or woocommerce first, or set base_url",
            )
        ids = item_ids(product, options.get("id_field", "sku"))
        if destination.dry_run:
            return PublishReceipt(destination=dest, job_key=clip.job_key, status="dry-run", url=url,
                                  path=str(feed_dir / "videos.tsv"), remote_id=",".join(ids))
        slot = f"{clip.product_handle}/{clip.kind}/{clip.format}"
        with _feed_lock(feed_dir):
            rows = _read_rows(feed_dir)
            problems = video_link_problems(clip, url, links_per_item(rows, ids, except_slot=slot))
            if problems:
                return PublishReceipt(destination=dest, job_key=clip.job_key, status="skipped", url=url,
                                      detail="not added to the feed (video_link rules): " + "; ".join(problems))
            previous = rows.get(slot)
            rows[slot] = {"job_key": clip.job_key, "ids": ids, "url": url}
            write_feed(rows, feed_dir / "videos.tsv")
            atomic.write_json(feed_dir / "videos.json", rows, sort_keys=True)
        replaced = previous is not None and previous.get("job_key") != clip.job_key
        receipt = PublishReceipt(
            destination=dest, job_key=clip.job_key, status="replaced" if replaced else "published",
            remote_id=",".join(ids), url=url, path=str(feed_dir / "videos.tsv"),
            detail=f"{len(ids)} item id(s)" + (f"; replaced {previous['job_key']}" if replaced else ""),
            published_at=now(),
        )
        ledger.record_receipt(receipt)
        return receipt

    def take_down(self, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path) -> PublishReceipt:
        """Remove the product's rows from each market's feed (Merchant Center drops the links on its next fetch)."""
        dest = destination.name or self.name
        live = live_clips(ledger, product.handle, dest)
        if not live:
            return take_down_summary(dest, product, [], "no clip of it is in the feed")
        base = Path(destination.options.get("path") or Path(out_dir) / "published" / "merchant-center")
        removed = 0
        for market in sorted({row["market"] for row, _ in live}):
            feed_dir = base / market
            with _feed_lock(feed_dir):
                rows = _read_rows(feed_dir)
                keep = {slot: row for slot, row in rows.items() if not slot.startswith(f"{product.handle}/")}
                if len(keep) != len(rows):
                    removed += len(rows) - len(keep)
                    write_feed(keep, feed_dir / "videos.tsv")
                    atomic.write_json(feed_dir / "videos.json", keep, sort_keys=True)
        detail = f"removed {removed} feed row(s)"
        taken = [record_taken_down(ledger, receipt, detail) for _, receipt in live]
        return take_down_summary(dest, product, taken, detail)


def public_video_url(clip: RenderedClip, ledger: Ledger, options: dict[str, Any]) -> str:
    """The clip's public URL from another destination's receipt or the folder base_url; "" when none."""
    for source in options.get("sources") or URL_SOURCES:
        receipt = ledger.receipt(clip.job_key, source)
        if receipt and receipt.status in DONE_STATUSES and is_public_url(receipt.url):
            if source == "youtube" and receipt.detail.startswith("private"):
                continue  # a private YouTube video plays for its owner only: no link for shoppers
            return receipt.url
    base = options.get("base_url")
    if base:
        url = f"{base.rstrip('/')}/{clip.market}/{quote(clip.product_handle)}/{clip_stem(clip)}.mp4"
        if is_public_url(url):
            return url
    return ""


def video_link_problems(clip: RenderedClip, url: str, links: dict[str, set[str]] | None = None) -> list[str]:
    """One line per Merchant Center ``video_link`` rule the clip or its URL breaks; [] when it may be written.

    ``links`` maps each of the product's item ids to the video links other rows already give it.
    """
    problems = []
    duration, width, height = _measure(clip)
    if duration is None:
        problems.append("duration unknown (no clip metadata and the file cannot be read)")
    elif not MIN_DURATION_S <= duration <= MAX_DURATION_S:
        problems.append(f"duration {duration:g} s is outside {MIN_DURATION_S:g}-{MAX_DURATION_S:g} s")
    try:
        size = Path(clip.video).stat().st_size
    except OSError:
        size = None
    if size is not None and size > MAX_SIZE_BYTES:
        problems.append(f"file is {size / 1e6:.0f} MB, over {MAX_SIZE_BYTES / 1e6:.0f} MB")
    if width and height:
        if not any(abs(width / height - ratio) <= ratio * 0.01 for ratio in ASPECTS.values()):
            problems.append(f"aspect ratio {width}x{height} is not {', '.join(ASPECTS)}")
        if min(width, height) < MIN_SHORT_SIDE:
            problems.append(f"resolution {width}x{height} is under {MIN_SHORT_SIDE}p")
    else:
        problems.append("frame size unknown (no clip metadata and the file cannot be read)")
    full = sorted(item for item, urls in (links or {}).items() if url not in urls and len(urls) >= MAX_VIDEO_LINKS)
    if full:
        problems.append(f"item {', '.join(full)} already has {MAX_VIDEO_LINKS} video links")
    why = url_problem(url)
    if why:
        problems.append(why)
    return problems


def url_problem(url: str) -> str:
    """Why a URL is not a stable public video link ("" when it is): a YouTube video or a direct video file."""
    if not url.isascii():
        return "URL has non-ASCII characters (percent-encode them)"
    if len(url) > MAX_URL_CHARS:
        return f"URL is {len(url)} characters, over {MAX_URL_CHARS}"
    if not is_public_url(url):
        return f"URL {url[:80]} is not public (an http(s) address a crawler on the internet can reach)"
    if YOUTUBE_URL.match(url):
        return ""
    parts = urlsplit(url)
    signed = sorted(k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if k.lower() in EXPIRING_PARAMS)
    if signed:
        return f"URL is signed and expires ({signed[0]}=...): not a stable link"
    if not parts.path.lower().endswith(VIDEO_EXTENSIONS):
        return f"URL is neither a YouTube video nor a direct video file ({', '.join(VIDEO_EXTENSIONS)})"
    return ""


def links_per_item(rows: dict[str, dict[str, Any]], ids: list[str], *, except_slot: str = "") -> dict[str, set[str]]:
    """For each item id, the video links the feed's other rows already give it."""
    links: dict[str, set[str]] = {item: set() for item in ids}
    for slot, row in rows.items():
        if slot == except_slot:
            continue
        for item in row.get("ids") or []:
            if item in links:
                links[item].add(row["url"])
    return links


def _measure(clip: RenderedClip) -> tuple[float | None, int, int]:
    """Duration, width and height: from the clip, else read from the file."""
    duration, width, height = clip.duration or None, clip.width, clip.height
    if duration and width and height:
        return duration, width, height
    try:
        from productreel.media import ProbeError, probe

        info = probe(clip.video)
    except (ImportError, ProbeError, OSError):
        return duration, width, height
    video = next((s for s in info["streams"] if s.get("codec_type") == "video"), {})
    duration = duration or float(info["format"].get("duration") or 0) or None
    return duration, width or int(video.get("width") or 0), height or int(video.get("height") or 0)


def is_public_url(url: str) -> bool:
    """True for an http(s) URL whose host a crawler on the internet could reach."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or not host or len(url) > 2000:
        return False
    if host == "localhost" or host.endswith((".local", ".localhost", ".internal", ".test")) or "." not in host and ":" not in host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return True
    return ip.is_global


def item_ids(product: Product, id_field: str = "sku") -> list[str]:
    """The Merchant Center item ids of a product: every variant SKU (or the product id / handle)."""
    if id_field == "sku":
        skus = list(dict.fromkeys(v.sku for v in product.variants if v.sku))
        if skus:
            return [s[:50] for s in skus]
    if id_field == "handle":
        return [product.handle[:50]]
    return [str(product.id)[:50]]


def write_feed(rows: dict[str, dict[str, Any]], path: Path) -> None:
    """Write the TSV: a header row, then ``id<TAB>video_link`` per item (up to 10 links, comma-separated)."""
    links: dict[str, list[str]] = {}
    for slot in sorted(rows):
        row = rows[slot]
        for item in row["ids"]:
            bucket = links.setdefault(item, [])
            if row["url"] not in bucket and len(bucket) < MAX_VIDEO_LINKS:
                bucket.append(row["url"])
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["id", "video_link"])
    for item in sorted(links):
        # A comma separates values in a TSV list attribute, so commas inside a URL must be %2C.
        writer.writerow([item, ",".join(_escape_commas(u) for u in links[item])])
    atomic.write_text(path, buf.getvalue())


def _escape_commas(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.replace(",", "%2C"), query=parts.query.replace(",", "%2C")))


def _read_rows(feed_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((feed_dir / "videos.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise TransientError(f"cannot read {feed_dir / 'videos.json'}: {exc}", where="merchant-center") from exc
    return data if isinstance(data, dict) else {}


@contextmanager
def _feed_lock(feed_dir: Path) -> Iterator[None]:
    # Parallel publish tasks add rows to the same feed: threads share _LOCK, processes the flock.
    feed_dir.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(feed_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
