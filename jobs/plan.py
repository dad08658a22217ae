"""Read a catalog into products and plan its jobs: every (product, market, kind, format) to make, in a stable order."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from productreel.errors import ProductreelError
from productreel.models import Job, JobOutcome, JobStatus, Product
from productreel.settings import ROOT

SAMPLE_CATALOG = ROOT / "samples" / "catalog.csv"
DEFAULT_FORMATS: dict[str, list[str]] = {"ad": ["9:16"], "tutorial": ["16:9"]}
log = logging.getLogger(__name__)


@dataclass
class CatalogRead:
    """The products read from a catalog (images fetched), and one problem line per product that could not be."""

    products: list[Product] = field(default_factory=list)
    problems: list[JobOutcome] = field(default_factory=list)


def one_line(exc: BaseException) -> str:
    """An exception as one line: our own errors as they say it, anything else with its class name."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ProductreelError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def problem(product: str, where: str, reason: str) -> JobOutcome:
    """A catalog problem as an outcome row (no market, kind or format)."""
    return JobOutcome(handle=product or "?", status=JobStatus.FAILED, source=where, error=reason)


def read_catalog(catalog: str, source: str | None = None, since: str | None = None, *, cache_dir: Path) -> CatalogRead:
    """Read the catalog and fetch every product's images; a product that fails for any reason is one problem line."""
    from catalog_adapters import is_remote, open_catalog
    from catalog_adapters.images import fetch_image

    since_dt = datetime.fromisoformat(since) if since else None
    adapter = open_catalog(catalog, source, since=since_dt)
    remote = is_remote(catalog, source)
    base_dir = Path.cwd() if remote else Path(catalog).resolve().parent
    read = CatalogRead()
    for product in adapter.products():
        try:
            if not product.images:
                raise ProductreelError("has no image", product=product.handle, where=product.source or None)
            for image in product.images:
                image.path = fetch_image(image.src, base_dir=base_dir, cache_dir=Path(cache_dir), remote=remote)
        except Exception as exc:  # noqa: BLE001 - one product's failure, whatever it is, is that product's problem
            reason = one_line(exc)
            if not isinstance(exc, ProductreelError):
                reason = f"product {product.handle}: {reason}"
                log.debug("reading product %s failed", product.handle, exc_info=exc)
            read.problems.append(problem(product.handle, product.source, reason))
            continue
        read.products.append(product)
    for p in adapter.problems:
        read.problems.append(problem(p.product or "", p.where, p.reason))
    return read


@dataclass(frozen=True)
class ProductRef:
    """One product as a storefront names it: its id (numeric or a Shopify GID), its handle, its variant SKUs."""

    id: str = ""
    handle: str = ""
    skus: tuple[str, ...] = ()

    def encode(self) -> str:
        """This reference as one ``wanted`` entry (plain JSON text, so it travels as a flow parameter)."""
        return json.dumps({"id": self.id, "handle": self.handle, "skus": list(self.skus)}, separators=(",", ":"))

    @classmethod
    def parse(cls, wanted: str) -> "ProductRef":
        """A ``wanted`` entry: an encoded reference, or one name that may be an id, a handle or a SKU."""
        if wanted.startswith("{"):
            data = json.loads(wanted)
            return cls(id=str(data.get("id") or ""), handle=str(data.get("handle") or ""),
                       skus=tuple(str(s) for s in data.get("skus") or () if s))
        return cls(id=wanted, handle=wanted, skus=(wanted,))

    @property
    def plain(self) -> bool:
        """True when this is one name that may be anything (not a storefront's reference)."""
        return self.id == self.handle and self.skus == (self.id,)

    def label(self) -> str:
        """How a log line names the product: "product 1234 (handle mug)" or "product 'mug'"."""
        if self.plain:
            return f"product {self.id!r}"
        extra = [f"handle {self.handle}"] if self.handle else []
        extra += [f"SKU {', '.join(self.skus)}"] if self.skus else []
        return f"product {self.id or '?'}" + (f" ({'; '.join(extra)})" if extra else "")

    def find(self, products: Iterable[Product]) -> list[Product]:
        """The products this names: by id when the catalog has it, else by handle, else by a variant SKU."""
        products = list(products)
        if self.id:
            hits = [p for p in products if _id_key(p.id) == _id_key(self.id)]
            if hits:
                return hits
        if self.handle:
            hits = [p for p in products if p.handle == self.handle]
            if hits:
                return hits
        skus = set(self.skus)
        return [p for p in products if skus & {v.sku for v in p.variants if v.sku}] if skus else []


def _id_key(value: str) -> str:
    # A Shopify GID and the numeric REST id name the same product: gid://shopify/Product/42 == 42.
    found = re.fullmatch(r"gid://shopify/Product/(\d+)", str(value or "").strip())
    return found.group(1) if found else str(value or "").strip()


def select(read: CatalogRead, *, wanted: list[str] | None = None, tag: str = "", limit: int = 0, catalog: str = "") -> CatalogRead:
    """Keep the products named in ``wanted`` or carrying ``tag``, at most ``limit`` of them.

    A ``wanted`` entry is an id (numeric or a Shopify GID), a handle or a
    variant SKU, or a ``ProductRef.encode()`` naming one product all three ways
    (a webhook's product: matched by id, else handle, else SKU, whichever the
    catalog has). A named product that is in neither the products nor the
    problems becomes a problem line of its own: it is said, not silently skipped.
    """
    products, problems = read.products, read.problems
    if wanted:
        refs = [ProductRef.parse(w) for w in wanted]
        found = {id(p) for ref in refs for p in ref.find(products)}
        products = [p for p in products if id(p) in found]
        names = {n for ref in refs for n in (ref.id, ref.handle) if n}
        problems = [p for p in problems if p.handle in names]
        for ref in refs:
            if not ref.find(products) and not any(p.handle in (ref.id, ref.handle) for p in problems):
                problems.append(problem(ref.handle or ref.id, catalog, f"{ref.label()} is not in the catalog {catalog}"))
    if tag:
        want = tag.strip().lower()
        products = [p for p in products if want in {t.strip().lower() for t in p.tags}]
    if limit:
        products = products[:limit]
    return CatalogRead(products, problems)


def _market_or_code(code: str):
    """The market config for a code (its catalog names say which exclusions match), or the code itself."""
    from localization.markets import get_market

    try:
        return get_market(code)
    except Exception:  # noqa: BLE001 - an unknown market fails its jobs later, with the reason; here a code is enough
        return code


def plan_jobs(products: list[Product], markets: list[str], kinds: list[str],
              formats: dict[str, list[str]] | None = None, *,
              not_sold: list[str] | None = None) -> list[tuple[Job, Product]]:
    """Every (product, market, kind, format) to make, in a stable order; a tutorial needs how-to steps.

    A market the catalog excludes (``Product.not_sold_in``) is planned as nothing; each such pair
    is added once to ``not_sold`` as "product HANDLE: not sold in MARKET" for the run summary.
    """
    formats = formats or {}
    jobs = []
    configs: dict[str, object] = {}
    for product in products:
        for market in markets:
            if product.not_sold_in:
                config = configs.setdefault(market, _market_or_code(market))
                if not product.sold_in(config):  # type: ignore[arg-type]
                    if not_sold is not None:
                        not_sold.append(f"product {product.handle}: not sold in {market}")
                    continue
            for kind in kinds:
                if kind == "tutorial" and not product.steps and not any(t.steps for t in product.translations.values()):
                    continue
                for fmt in formats.get(kind) or DEFAULT_FORMATS.get(kind, ["9:16"]):
                    jobs.append((Job(handle=product.handle, market=market, kind=kind, format=fmt), product))
    return jobs


# Longer clips start first: a tutorial runs about twice an ad's length, so the short jobs are left for the end
# and no core waits alone on a long one (longest-processing-time-first scheduling).
LONGER_FIRST = {"tutorial": 0}


def start_order(jobs: list[tuple[Job, Product]]) -> list[int]:
    """The indexes of ``jobs`` in the order to start them: tutorials first, otherwise the plan's order."""
    return sorted(range(len(jobs)), key=lambda i: LONGER_FIRST.get(jobs[i][0].kind, 1))


def parallel_jobs() -> int:
    """Jobs a run makes at once on this machine: Settings().workers (PRODUCTREEL_WORKERS), else the CPU count (at least 2)."""
    import os

    from productreel.settings import Settings

    return Settings().workers or max(2, os.cpu_count() or 2)
