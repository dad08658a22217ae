"""Taking a product's clips down: at every destination where the ledger has them live, nothing rendered.

A storefront says which product went (its id, and its handle and SKUs when it still knows them);
the ledger says which clips of it are live where: the product's jobs by handle, and, for a catalog
that knows only handles (a CSV) while the store names the product by id, the store's product id a
publish recorded. Each destination's publisher takes its own clips down (``take_down``) and records
it; a destination that cannot is said, not skipped silently.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Mapping

from productreel.errors import ProductreelError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt

from publishers.base import DONE_STATUSES, now
from publishers.registry import get_publisher

log = logging.getLogger(__name__)

# A feed row links to a storefront's video, so the feed goes first; the folder (the source of both) last.
ORDER = ("merchant-center", "shopify", "woocommerce", "folder")


def product_handles(ledger: Ledger, product: Product) -> list[str]:
    """The handles the ledger knows this product by: its own, and those of clips published onto its store id."""
    handles = {product.handle} if product.handle else set()
    ids = _id_forms(str(product.id or ""))
    if ids:
        keys = {s["job_key"] for s in ledger.all_publish_steps() if str((s["data"] or {}).get("product_id", "")) in ids}
        handles |= {row["handle"] for row in ledger.all_jobs() if row["key"] in keys}
    return sorted(handles)


def live_destinations(ledger: Ledger, handles: list[str]) -> list[str]:
    """The destinations where a clip of these handles is live, feed first."""
    keys = {row["key"] for row in ledger.all_jobs() if row["handle"] in handles}
    names = {r.destination for r in ledger.all_receipts() if r.job_key in keys and r.status in DONE_STATUSES}
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def take_down_product(
    product: Product,
    *,
    ledger: Ledger,
    out_dir: Path,
    destinations: Mapping[str, Destination] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> list[PublishReceipt]:
    """Take the product's live clips down everywhere; one receipt per (handle, destination), a failure its own receipt.

    ``destinations`` gives the options (a folder URL, a store) of destinations by name; any other
    destination the ledger names is taken down with its default options.
    """
    destinations = destinations or {}
    receipts = []
    for handle in product_handles(ledger, product):
        named = product.model_copy(update={"handle": handle})
        for name in live_destinations(ledger, [handle]):
            destination = destinations.get(name) or Destination(name=name)
            receipts.append(_take_down_at(named, destination, ledger, Path(out_dir), secrets))
    return receipts


def _take_down_at(product: Product, destination: Destination, ledger: Ledger, out_dir: Path,
                  secrets: Mapping[str, str] | None) -> PublishReceipt:
    try:
        publisher = get_publisher(destination.name)
        take_down = getattr(publisher, "take_down", None)
        if take_down is None:
            return PublishReceipt(destination=destination.name, job_key="", status="skipped", published_at=now(),
                                  detail=f"{product.handle}: {destination.name} cannot take clips down; remove them by hand")
        extra = {"secrets": secrets} if secrets else {}
        return take_down(product, destination, ledger=ledger, out_dir=out_dir, **extra)
    except ProductreelError as exc:
        # One destination refusing (a revoked token, a 5xx) leaves the others to do theirs; the receipt says why.
        return PublishReceipt(destination=destination.name, job_key="", status="failed", published_at=now(),
                              detail=f"{product.handle}: " + " ".join(str(exc).split()))


def _id_forms(pid: str) -> set[str]:
    """A store product id as the publishers record it: the GID and the bare number are the same product."""
    if not pid:
        return set()
    found = re.fullmatch(r"gid://shopify/Product/(\d+)", pid)
    number = found.group(1) if found else pid
    return {pid, number, f"gid://shopify/Product/{number}"} if number.isdigit() else {pid}
