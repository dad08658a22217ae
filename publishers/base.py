"""What every publisher shares: the Publisher seam, file names, ledger idempotency and secret redaction."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

# A receipt in one of these states means the clip is live at the destination: never publish it again.
DONE_STATUSES = {"published", "replaced", "unchanged"}


class Publisher(Protocol):
    """One destination: publishes a clip for a product, idempotent by the clip's job key."""

    name: str

    def publish(
        self, clip: RenderedClip, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path
    ) -> PublishReceipt:
        """Publish one clip and return what the destination did."""
        ...


class TakesDown(Protocol):
    """A destination that can remove what it published for a product (a deleted product's clips)."""

    def take_down(self, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path) -> PublishReceipt:
        """Remove the product's live clips; a "taken-down" receipt (each clip's recorded), "unchanged" when none was live."""
        ...


def format_slug(fmt: str) -> str:
    """A format safe in file names: "9:16" -> "9x16"."""
    return fmt.replace(":", "x")


def clip_stem(clip: RenderedClip) -> str:
    """The stable file stem of a clip: "<kind>-<format>"."""
    return f"{clip.kind}-{format_slug(clip.format)}"


from productreel.secrets import set_secret_source, setting  # noqa: E402,F401 - re-exported for the room


def require_clip_file(clip: RenderedClip, where: str) -> None:
    """InputError naming the product and market when the clip's MP4 is not on disk."""
    from productreel.errors import InputError

    if not Path(clip.video).is_file():
        raise InputError(f"clip file not found: {clip.video}", product=clip.product_handle, market=clip.market, where=where)


@contextlib.contextmanager
def naming_clip(clip: RenderedClip) -> Iterator[None]:
    """Errors raised inside name the clip's product and market on the way out (messages are already redacted)."""
    from productreel.errors import ProductreelError

    try:
        yield
    except ProductreelError as exc:
        exc.product = exc.product or clip.product_handle
        exc.market = exc.market or clip.market
        raise


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(timezone.utc)


def already_published(ledger: Ledger, job_key: str, destination: str) -> PublishReceipt | None:
    """The "unchanged" receipt to return when this job key is already live at the destination, else None."""
    previous = ledger.receipt(job_key, destination)
    if previous is None or previous.status not in DONE_STATUSES:
        return None
    return previous.model_copy(update={"status": "unchanged"})


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (and its Basic-auth or query-string forms) replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    # Belt and braces: header-shaped and query-shaped credentials that slipped through.
    text = re.sub(r"(?i)(x-shopify-access-token['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", r"\1***", text)
    text = re.sub(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(basic|bearer)\s+)[^'\"\s,}]+", r"\1***", text)
    text = re.sub(r"(?i)((consumer_secret|access_token|password)=)[^&\s]+", r"\1***", text)
    return text


def receipt_dict(receipt: PublishReceipt) -> dict[str, Any]:
    """A receipt as plain JSON data."""
    return receipt.model_dump(mode="json")


def live_clips(ledger: Ledger, handle: str, destination: str) -> list[tuple[dict[str, Any], PublishReceipt]]:
    """The product's jobs (ledger rows) whose clip is live at the destination now, each with its receipt."""
    out = []
    for row in ledger.all_jobs():
        if row["handle"] != handle:
            continue
        receipt = ledger.receipt(row["key"], destination)
        if receipt is not None and receipt.status in DONE_STATUSES:
            out.append((row, receipt))
    return out


def record_taken_down(ledger: Ledger, receipt: PublishReceipt, detail: str) -> PublishReceipt:
    """Record in the ledger that a live clip was taken down; returns the "taken-down" receipt."""
    down = receipt.model_copy(update={"status": "taken-down", "detail": detail, "published_at": now()})
    ledger.record_take_down(down)
    return down


def take_down_summary(destination: str, product: Product, taken: list[PublishReceipt], detail: str) -> PublishReceipt:
    """One receipt for a product's take-down at a destination: "taken-down", or "unchanged" when nothing was live."""
    return PublishReceipt(
        destination=destination, job_key=",".join(r.job_key for r in taken), status="taken-down" if taken else "unchanged",
        remote_id=",".join(r.remote_id for r in taken if r.remote_id), detail=f"{product.handle}: {detail}",
        published_at=now(),
    )
