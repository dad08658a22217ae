"""The Merchant Center publisher: a supplemental feed (TSV) of ``id`` and ``video_link`` per market.

Merchant Center fetches videos from public URLs, so this destination publishes no bytes: it finds
the clip's public URL (the receipt of the same job key at shopify / woocommerce / folder, or
``options["base_url"]`` in front of the folder layout) and writes one row per item id. Clips with
no public URL yet are "skipped", and join the feed on a later publish.

Files: ``<out>/published/merchant-center/<market>/videos.tsv`` (the feed to register in Merchant
Center as a supplemental data source) beside ``videos.json`` (the rows it is built from).
"""

from __future__ import annotations

import csv
import fcntl
import io
import ipaddress
import json
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit, urlunsplit

from productreel import atomic
from productreel.errors import TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

from publishers.base import DONE_STATUSES, already_published, clip_stem, live_clips, now, record_taken_down, take_down_summary

# Where a public URL for the same job key may already be recorded, best first.
URL_SOURCES = ("shopify", "woocommerce", "folder")
MAX_VIDEO_LINKS = 10
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
            return receipt.url
    base = options.get("base_url")
    if base:
        url = f"{base.rstrip('/')}/{clip.market}/{quote(clip.product_handle)}/{clip_stem(clip)}.mp4"
        if is_public_url(url):
            return url
    return ""


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
