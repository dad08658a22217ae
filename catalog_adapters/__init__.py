"""Catalog adapters: read a source (file, API, feed) into `Product`s, one module per source.

    open_catalog(source, kind=None, since=None) -> adapter with .products() and .problems
    ADAPTERS: the registry, kind name -> adapter class (third-party adapters add themselves here)
    product_json(product) -> dict, the `productreel ingest` JSON Lines shape
    ingest_to(out, err, source, kind, since) -> exit code, the logic of `productreel ingest`
    set_secret_source(lookup): where API secrets come from besides the environment (flows/
        registers Prefect Secret blocks: "shopify-access-token", "woocommerce-consumer-key", ...)
"""

from __future__ import annotations

from .base import CatalogAdapter, CatalogProblem, set_secret_source
from .output import ingest_to, product_json
from .registry import ADAPTERS, guess_kind, is_remote, open_catalog, parse_options

__all__ = [
    "ADAPTERS",
    "CatalogAdapter",
    "CatalogProblem",
    "guess_kind",
    "ingest_to",
    "is_remote",
    "open_catalog",
    "parse_options",
    "product_json",
    "set_secret_source",
]
