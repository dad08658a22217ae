"""The `productreel ingest` output: one JSON object per product (JSON Lines), problems one line each."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from productreel.errors import ProductreelError
from productreel.models import Product


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)


def fast_content_hash(product: Product) -> str:
    """Product.content_hash computed with orjson (same canonical JSON, several times faster).

    ingest checks it against Product.content_hash before trusting it, so a
    change to the model's recipe falls back to the model instead of drifting.
    """
    return _hash_of_json(product_json(product, content_hash="-"))


def _hash_of_json(data: dict[str, Any]) -> str:
    """The content hash from a product_json dict (which holds every hashed field, decimals as str)."""
    payload = {
        "title": data["title"],
        "description": data["description"],
        "brand": data["brand"],
        "variants": [
            [v["price"] or "None", v["currency"], v["compare_at_price"] or "None", v["title"], v["options"]]
            for v in data["variants"]
        ],
        "images": [[i["src"], i["alt"]] for i in data["images"]],
        "features": data["features"],
        "steps": data["steps"],
        "translations": data["translations"],
        "prices": data["prices"],
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]


def product_json(product: Product, *, content_hash: str | None = None) -> dict[str, Any]:
    """The `ingest` JSON Lines shape of a product (decimals as strings)."""
    return {
        "id": product.id,
        "handle": product.handle,
        "title": product.title,
        "description": product.description,
        "brand": product.brand,
        "category": product.category,
        "tags": list(product.tags),
        "variants": [
            {
                "sku": v.sku,
                "title": v.title,
                "options": dict(v.options),
                "price": _dec(v.price),
                "currency": v.currency,
                "compare_at_price": _dec(v.compare_at_price),
                "gtin": v.gtin,
            }
            for v in product.variants
        ],
        "images": [{"src": i.src, "alt": i.alt} for i in product.images],
        "features": list(product.features),
        "steps": list(product.steps),
        "translations": {
            loc: {"title": t.title, "description": t.description, "features": list(t.features), "steps": list(t.steps)}
            for loc, t in sorted(product.translations.items())
        },
        "prices": {
            m: {"amount": _dec(p.amount), "currency": p.currency, "compare_at": _dec(p.compare_at)}
            for m, p in sorted(product.prices.items())
        },
        "updated_at": product.updated_at.isoformat() if product.updated_at else None,
        "source": product.source,
        "content_hash": content_hash or product.content_hash,
    }


class _Hasher:
    """Use the fast hash once it has matched the model's own on the first products."""

    CHECKS = 3

    def __init__(self) -> None:
        self.checked = 0
        self.fast = True

    def __call__(self, product: Product, data: dict[str, Any]) -> str:
        if not self.fast:
            return product.content_hash
        try:
            fast = _hash_of_json(data)
        except (TypeError, orjson.JSONEncodeError):
            return product.content_hash
        if self.checked < self.CHECKS:
            slow = product.content_hash
            if slow != fast:
                self.fast = False
                return slow
            self.checked += 1
        return fast


def ingest_to(
    out: TextIO,
    err: TextIO,
    source: str | Path,
    kind: str | None = None,
    since: datetime | str | None = None,
    **options: Any,
) -> int:
    """Write one JSON line per product to ``out`` and one line per problem to ``err``; 0 when read, 2 when not."""
    from . import open_catalog
    from .base import parse_since

    hasher = _Hasher()
    try:
        adapter = open_catalog(source, kind, since=parse_since(since), **options)
        reported = 0
        problems = adapter.problems
        for product in adapter.products():
            data = product_json(product, content_hash="-")
            data["content_hash"] = hasher(product, data)
            out.write(orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE).decode())
            if reported < len(problems):
                for problem in problems[reported:]:
                    err.write(f"{problem}\n")
                reported = len(problems)
        for problem in problems[reported:]:
            err.write(f"{problem}\n")
    except ProductreelError as exc:
        err.write(f"productreel: {exc}\n")
        return 2
    return 0
