"""The `productreel ingest` output: one JSON object per product (JSON Lines), problems one line each."""

from __future__ import annotations

import gc
import hashlib
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

import orjson

from pydantic import ValidationError

from productreel.errors import ProductreelError
from productreel.models import Product

from .base import CatalogProblem, sorted_payload_hash  # noqa: F401 - re-exported


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
    if data.get("cta"):  # Product.content_hash hashes the call to action only when there is one
        payload["cta"] = data["cta"]
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
        "not_sold_in": list(product.not_sold_in),
        "link": product.link,
        "cta": product.cta,
        "content_hash": content_hash or product.content_hash,
    }


def record_json(record: dict[str, Any]) -> dict[str, Any]:
    """product_json of the product a JSON-ready record validates to, built without the models.

    A record (``records()`` of an adapter) holds JSON-ready values: decimals as
    canonical strings, translations and prices sorted by key, images with
    src and alt, and may hold its ``content_hash`` already (else it is computed
    here). ingest checks this against the models on the first products.
    """
    data = {
        "id": record["id"],
        "handle": record["handle"],
        "title": record["title"],
        "description": record["description"],
        "brand": record["brand"],
        "category": record["category"],
        "tags": record["tags"],
        "variants": record["variants"],
        "images": record["images"],
        "features": record["features"],
        "steps": record["steps"],
        "translations": record["translations"],
        "prices": record["prices"],
        "updated_at": record.get("updated_at"),
        "source": record["source"],
        "not_sold_in": record.get("not_sold_in", []),
        "link": record.get("link", ""),
        "cta": record.get("cta", ""),
        "content_hash": record.get("content_hash") or "-",
    }
    if data["content_hash"] == "-":
        data["content_hash"] = _hash_of_json(data)
    return data


def _model_json(product: Product) -> dict[str, Any]:
    data = product_json(product, content_hash="-")
    data["content_hash"] = product.content_hash
    return data


class _Encoder:
    """product -> JSON dict, taking the fast routes only after they matched the model on the first products.

    Adapters with ``records()`` (plain dicts of typed values) skip building and
    walking the pydantic models; ``fast_content_hash`` skips the model's
    stdlib-json hash. Either falls back to the model the moment it disagrees.
    """

    CHECKS = 3

    def __init__(self) -> None:
        self.checked = 0
        self.fast = True

    def product(self, product: Product) -> dict[str, Any]:
        data = product_json(product, content_hash="-")
        if not self.fast:
            data["content_hash"] = product.content_hash
            return data
        data["content_hash"] = _hash_of_json(data)
        if self.checked < self.CHECKS:
            if data["content_hash"] != product.content_hash:
                self.fast = False
                data["content_hash"] = product.content_hash
            self.checked += 1
        return data

    def record(self, record: dict[str, Any]) -> dict[str, Any] | None:
        if self.fast and self.checked >= self.CHECKS:
            return record_json(record)
        product = Product.model_validate(record)  # raises like products() would
        expected = _model_json(product)
        if self.fast:
            self.checked += 1
            if record_json(record) != expected:
                self.fast = False
        return expected


    def shaped(self, record: dict[str, Any]) -> dict[str, Any]:
        """A record already in the JSON Lines shape, key order included (ShopifyCsv.ingest_items), checked like record()."""
        if self.fast and self.checked >= self.CHECKS:
            return record
        product = Product.model_validate(record)  # raises like products() would
        expected = _model_json(product)
        if self.fast:
            self.checked += 1
            if orjson.dumps(record) != orjson.dumps(expected):  # bytes: the key order counts too
                self.fast = False
        return expected


def encode_records(records: Iterable[dict[str, Any]], problems: list[CatalogProblem], write: Callable[[bytes], Any]) -> None:
    """Write ingest's JSON Lines for JSON-shaped ``records`` (a worker's part of a catalog); a record the model rejects is a problem."""
    encode, dumps, newline = _Encoder(), orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for record in records:
        try:
            write(dumps(encode.shaped(record), option=newline))
        except ValidationError as exc:
            problems.append(_rejected(record, exc))


def _rejected(item: dict[str, Any], exc: ValidationError) -> CatalogProblem:
    where = str(item.get("source") or item.get("id", "?"))
    return CatalogProblem(where, f"{exc.errors()[0]['msg']}; product skipped", item.get("handle"))


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """Leave the objects that exist now out of the garbage collector's full passes until the block ends.

    Reading a catalog makes many short-lived dicts and lists; each product still being built
    when a young collection runs is promoted, and enough promotions trigger a full collection
    that walks every object of the process (imported modules, the caller's data) again and
    again: about a tenth of ingest's CPU. gc.freeze parks those objects (a reference cycle among
    them that becomes garbage meanwhile is collected after the block; everything else is freed
    as before). Left alone when the caller froze objects itself or turned the collector off.
    """
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def ingest_to(
    out: TextIO,
    err: TextIO,
    source: str | Path,
    kind: str | None = None,
    since: datetime | str | None = None,
    **options: Any,
) -> int:
    """Write one JSON line per product to ``out`` and one line per problem to ``err``; 0 when read, 2 when not."""
    with _old_objects_frozen():
        return _ingest(out, err, source, kind, since, options)


def _ingest(out: TextIO, err: TextIO, source: str | Path, kind: str | None, since: Any, options: dict[str, Any]) -> int:
    from .registry import open_catalog
    from .base import parse_since

    encode = _Encoder()
    try:
        adapter = open_catalog(source, kind, since=parse_since(since), **options)
        reported = 0
        problems = adapter.problems
        records = getattr(adapter, "records", None)
        split = getattr(adapter, "ingest_items", None)  # JSON-shaped records, and bytes: JSON Lines a worker encoded
        if callable(split):
            items, to_json = split(encode_records), encode.shaped
        elif callable(records):
            items, to_json = records(), encode.record
        else:
            items, to_json = adapter.products(), encode.product
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        raw = getattr(out, "buffer", None)  # write orjson's UTF-8 bytes straight through when we can
        if raw is not None:
            out.flush()
            write = raw.write
        else:
            write = lambda b: out.write(b.decode())  # noqa: E731
        for item in items:
            if type(item) is bytes:
                write(item)
            else:
                try:
                    data = to_json(item)
                except ValidationError as exc:
                    problems.append(_rejected(item, exc))
                    continue
                write(dumps(data, option=newline))
            if reported < len(problems):
                for problem in problems[reported:]:
                    err.write(f"{problem}\n")
                reported = len(problems)
        for problem in problems[reported:]:
            err.write(f"{problem}\n")
    except ProductreelError as exc:
        err.write(f"productreel: {exc}\n")
        return 2
    finally:
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.flush()
    return 0
