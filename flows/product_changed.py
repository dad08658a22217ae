"""The `product-changed` flow: one product, all its markets; and the webhook callback that starts it.

A storefront webhook (publishers/webhooks.py) or a person names a product;
the flow runs catalog-batch for that product alone, so the ledger skips every
job whose key did not change and only the clips the edit touched are made
again. On a team's server the callback creates a run of the `product-changed`
deployment for the workers; on a laptop it runs the flow right here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from prefect import flow

from flows.catalog_batch import catalog_batch
from flows.orchestration import deployment_available, trigger_deployment
from jobs.plan import SAMPLE_CATALOG

PRODUCT_CHANGED_DEPLOYMENT = "product-changed/product-changed"
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
) -> dict[str, Any]:
    """Render, check and publish one product (by id or handle) for all its markets (every configured market by default)."""
    return catalog_batch(catalog=catalog, source=source, markets=markets or all_markets(), kinds=kinds, out=out,
                         profile=profile, publish_to=publish_to, products=[product], publish_url=publish_url,
                         brand=brand, style=style)


def make_on_product(
    *,
    catalog: str = str(SAMPLE_CATALOG),
    source: str | None = None,
    markets: list[str] | None = None,
    kinds: list[str] | None = None,
    out: str = "out/run",
    profile: str = "full",
    publish_to: str = "folder",
    deployment: str = PRODUCT_CHANGED_DEPLOYMENT,
):
    """The webhook receiver's ``on_product(product_id, updated_at, payload)``: a deployment run, else a local flow run.

    The receiver calls it in its own background thread, so a local run here
    blocks nobody; a deployment run gets an idempotency key from the product
    and its ``updated_at``, so a redelivered webhook never makes a second run.
    """

    def on_product(product_id: str, updated_at: datetime, payload: dict) -> None:
        params: dict[str, Any] = dict(product=str(product_id), catalog=catalog, source=source, markets=markets,
                                      kinds=kinds or ["ad", "tutorial"], out=out, profile=profile,
                                      publish_to=publish_to, updated_at=updated_at.isoformat())
        if deployment_available(deployment):
            run = trigger_deployment(deployment, params, idempotency_key=f"product-changed:{product_id}:{updated_at.isoformat()}")
            log.info("product %s changed: deployment run %s", product_id, run.name)
            return
        log.info("product %s changed: running product-changed here", product_id)
        product_changed(**params)

    return on_product
