"""The publisher registry: destination name -> publisher class, and ``publish`` that routes a clip to one.

Its own module, not the package ``__init__``, so publishers.run can call ``publish`` without importing
the package that imports run back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from productreel.errors import InputError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

from publishers.base import Publisher
from publishers.folder import FolderPublisher
from publishers.merchant_center import MerchantCenterPublisher
from publishers.shopify import ShopifyPublisher
from publishers.woocommerce import WooCommercePublisher
from publishers.youtube import YouTubePublisher

# The registry third-party publishers would join too: destination name -> publisher class.
PUBLISHERS: dict[str, type] = {
    "folder": FolderPublisher,
    "shopify": ShopifyPublisher,
    "woocommerce": WooCommercePublisher,
    "merchant-center": MerchantCenterPublisher,
    "youtube": YouTubePublisher,
}


def get_publisher(name: str) -> Publisher:
    """A publisher instance for a destination name (InputError listing the known names otherwise)."""
    try:
        cls = PUBLISHERS[name]
    except KeyError:
        raise InputError(f"unknown destination {name!r}; known: {', '.join(sorted(PUBLISHERS))}") from None
    return cls()


def publish(
    clip: RenderedClip,
    product: Product,
    destination: Destination,
    *,
    ledger: Ledger,
    out_dir: Path,
    secrets: Mapping[str, str] | None = None,
) -> PublishReceipt:
    """Publish one clip to a destination; "unchanged" without any write when its job key is already live.

    ``secrets`` (access tokens, passwords) is for flows/ to pass what it read from Prefect Secret
    blocks; without it each storefront publisher reads its environment variables.
    """
    extra = {"secrets": secrets} if secrets else {}
    return get_publisher(destination.name).publish(
        clip, product, destination, ledger=ledger, out_dir=Path(out_dir), **extra
    )
