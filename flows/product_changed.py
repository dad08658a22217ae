"""The `product-changed` and `product-deleted` flows, and the webhook callback that starts them.

A storefront webhook (publishers/webhooks.py) or a person names a product;
product-changed runs catalog-batch for that product alone, so the ledger skips
every job whose key did not change and only the clips the edit touched are
made again. A webhook names the product by the store's id, handle and SKUs;
the catalog is searched for whichever it has (jobs.plan.ProductRef).
product-deleted takes a deleted product's published clips down and renders
nothing. On a team's server the callback creates a run of the deployment for
the workers; on a laptop it runs the flow right here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import flow

from flows.catalog_batch import catalog_batch
from flows.orchestration import deployment_available, trigger_deployment
from jobs.plan import SAMPLE_CATALOG, ProductRef
from productreel.errors import ProductreelError

PRODUCT_CHANGED_DEPLOYMENT = "product-changed/product-changed"
PRODUCT_DELETED_DEPLOYMENT = "product-deleted/product-deleted"
log = logging.getLogger(__name__)


def all_markets() -> list[str]:
    """Every configured market code."""
    from localization.markets import load_markets

    return sorted(load_markets())


@flow(name="product-changed")
def product_changed(
    product: str,
    catalog: str = str(SAMPLE_CATALOG),
    source: str | None = None,
    markets: list[str] | None = None,
    kinds: list[str] = ["ad", "tutorial"],  # noqa: B006 - Prefect parameters must be plain values
    out: str = "out/run",
    profile: str = "full",
    publish_to: str = "folder",
    updated_at: str | None = None,
    publish_url: str | None = None,
    brand: str = "default",
    style: str | None = None,
    handle: str | None = None,
    skus: list[str] | None = None,
) -> dict[str, Any]:
    """Render, check and publish one product for all its markets (every configured market by default).

    ``product`` is an id (numeric or a Shopify GID), a handle or a SKU; a
    webhook also passes the store's ``handle`` and variant ``skus``, and the
    catalog is searched by id, else handle, else SKU, whichever it has.
    """
    return catalog_batch(catalog=catalog, source=source, markets=markets or all_markets(), kinds=kinds, out=out,
                         profile=profile, publish_to=publish_to, products=[_wanted(product, handle, skus)], publish_url=publish_url,
                         brand=brand, style=style)


@flow(name="product-deleted")
def product_deleted(
    product: str,
    handle: str | None = None,
    skus: list[str] | None = None,
    out: str = "out/run",
    publish_to: str = "folder",
    publish_url: str | None = None,
) -> list[dict[str, Any]]:
    """Take a deleted product's published clips down wherever a destination can, recorded in the ledger; nothing is rendered."""
    from flows.secrets import register_secret_sources
    from productreel.ledger import open_ledger
    from productreel.models import Destination, Product, Variant
    from productreel.settings import Settings
    from publishers.takedown import take_down_product

    register_secret_sources()
    out_dir = Path(out).resolve()
    ledger = open_ledger(Settings().ledger(out_dir))
    gone = Product(id=product, handle=handle or "", title=handle or product, variants=[Variant(sku=s) for s in skus or []])
    options = {"url": publish_url} if publish_url else {}
    receipts = take_down_product(gone, ledger=ledger, out_dir=out_dir,
                                 destinations={publish_to: Destination(name=publish_to, options=options)})
    failed = [r for r in receipts if r.status == "failed"]
    if failed:
        raise ProductreelError("; ".join(f"{r.destination}: {r.detail}" for r in failed), where="product-deleted")
    return [r.model_dump(mode="json") for r in receipts]


def make_on_product(
    *,
    catalog: str = str(SAMPLE_CATALOG),
    source: str | None = None,
    markets: list[str] | None = None,
    kinds: list[str] | None = None,
    out: str = "out/run",
    profile: str = "full",
    publish_to: str = "folder",
    publish_url: str | None = None,
    deployment: str = PRODUCT_CHANGED_DEPLOYMENT,
    deleted_deployment: str = PRODUCT_DELETED_DEPLOYMENT,
):
    """The webhook receiver's ``on_product(change)``: a deployment run, else a local flow run; returns one line.

    The receiver calls it in its own background thread, so a local run here
    blocks nobody; a deployment run gets an idempotency key from the product
    and its ``updated_at``, so a redelivered webhook never makes a second run.
    A failing local run raises: the receiver says it in one line.
    """

    def on_product(change) -> str:
        stamp = change.updated_at.isoformat()
        if change.deleted:
            params: dict[str, Any] = dict(product=change.product_id, handle=change.handle or None,
                                          skus=list(change.skus) or None, out=out, publish_to=publish_to,
                                          publish_url=publish_url)
            name, run_flow = deleted_deployment, product_deleted
        else:
            params = dict(product=change.product_id, handle=change.handle or None, skus=list(change.skus) or None,
                          catalog=catalog, source=source, markets=markets, kinds=kinds or ["ad", "tutorial"], out=out,
                          profile=profile, publish_to=publish_to, publish_url=publish_url, updated_at=stamp)
            name, run_flow = deployment, product_changed
        if deployment_available(name):
            run = trigger_deployment(name, params, idempotency_key=f"{name}:{change.product_id}:{stamp}")
            return f"deployment run {run.name}"
        try:
            result = run_flow(**params)
        except ProductreelError as exc:
            ref = ProductRef.parse(_wanted(change.product_id, change.handle, list(change.skus)))
            if not change.deleted and f"{ref.label()} is not in the catalog" in str(exc):
                # Not ours to make (another store's product, a catalog not exported yet): said once, not retried.
                return f"{ref.label()} is not in the catalog {catalog}; nothing to make"
            raise
        return _said(result)

    return on_product


def _wanted(product: str, handle: str | None, skus: list[str] | None) -> str:
    """The catalog selection for a product: the storefront's full reference when it gave more than an id."""
    return ProductRef(id=product, handle=handle or "", skus=tuple(skus or ())).encode() if handle or skus else product


def _said(result: Any) -> str:
    """What a local run did, in a few words: counts of a product-changed summary, the take-downs of a product-deleted."""
    if isinstance(result, dict):
        counts = result.get("counts") or {}
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to make"
    downs = [r for r in result or [] if r.get("status") == "taken-down"]
    if not downs:
        return "nothing was live to take down"
    return "; ".join(f"{r['destination']}: {r['detail']}" for r in downs)
