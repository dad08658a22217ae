"""Shopify Admin GraphQL API read into `Product`s: variants, media, market prices, translations.

Settings (options, else environment):
- store: ``shopify://{shop}.myshopify.com``, ``https://{shop}.myshopify.com`` or SHOPIFY_STORE_URL
- token: SHOPIFY_ACCESS_TOKEN (flows may pass one read from a Prefect Secret block); never logged
- api_version: SHOPIFY_API_VERSION, default ``2025-01`` (pinned; the schema this reader was checked against)
- markets: market name -> country code for ``contextualPricing``, e.g. ``{"germany": "DE"}``
  (SHOPIFY_MARKETS="germany=DE,japan=JP"); locales: ``["de", "ja"]`` (SHOPIFY_LOCALES="de,ja")

Pagination is by cursor (``page_size`` <= 250), products and, for a product with more than
``variants_first`` variants or ``media_first`` media, its variants and media too (``product(id)``
queries until ``hasNextPage`` is false). Market inclusion: ``publishedInContext(country)`` per
market; a product not published there gets the market in ``Product.not_sold_in`` (no clips).
Throttling is either HTTP 429
with Retry-After (handled by the HTTP client) or HTTP 200 with a THROTTLED
error, after which productreel.shopify_throttle waits what the cost bucket needs
(``(requestedQueryCost - currentlyAvailable) / restoreRate``) and retries.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import ValidationError

from productreel.errors import InputError, PermanentError, TransientError
from productreel.models import Product
from productreel.shopify_throttle import Throttle

from .base import BadValue, CatalogProblem, check_currency, html_to_text, parse_price, parse_since, setting, split_list
from .http import HttpClient

DEFAULT_API_VERSION = "2025-01"
MAX_PAGE = 250

_PRODUCT_FIELDS = """
      id handle title descriptionHtml vendor productType tags status updatedAt
      priceRangeV2 {{ minVariantPrice {{ amount currencyCode }} }}
      features: metafield(namespace: "custom", key: "features") {{ value }}
      steps: metafield(namespace: "custom", key: "howto_steps") {{ value }}
      media(first: {media_first}, sortKey: POSITION) {{ pageInfo {{ hasNextPage endCursor }} nodes {{{media}}} }}
      variants(first: {variants_first}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{{variant}}} }}
{published}{translations}"""
_MEDIA_NODE = """
        mediaContentType alt
        ... on MediaImage {{ image {{ url altText }} }} """
_VARIANT_NODE = """
        id title sku barcode price compareAtPrice selectedOptions {{ name value }}
{pricing}      """


def _pricing(countries: list[str]) -> str:
    return "".join(
        f"        price_{i}: contextualPricing(context: {{country: {c}}}) {{ price {{ amount currencyCode }} "
        f"compareAtPrice {{ amount currencyCode }} }}\n"
        for i, c in enumerate(countries)
    )


def build_more_query(field: str, countries: list[str]) -> str:
    """The query for one product's next page of ``variants`` or ``media`` (after the products page's first)."""
    node = _VARIANT_NODE.format(pricing=_pricing(countries)) if field == "variants" else _MEDIA_NODE.format()
    sort = ", sortKey: POSITION" if field == "media" else ""
    return (
        "query More($id: ID!, $first: Int!, $cursor: String) {\n  product(id: $id) {\n"
        f"    {field}(first: $first, after: $cursor{sort}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{{node}}} }}\n"
        "  }\n}\n"
    )


def build_query(countries: list[str], locales: list[str], *, variants_first: int = 100, media_first: int = 20) -> str:
    """The products query with one aliased contextualPricing per country and translations per locale."""
    published = "".join(
        f"      pub_{i}: publishedInContext(context: {{country: {c}}})\n" for i, c in enumerate(countries)
    )
    translations = "".join(
        f'      tr_{i}: translations(locale: "{loc}") {{ key value locale }}\n' for i, loc in enumerate(locales)
    )
    body = _PRODUCT_FIELDS.format(
        media=_MEDIA_NODE.format(), variant=_VARIANT_NODE.format(pricing=_pricing(countries)), published=published,
        translations=translations, variants_first=variants_first, media_first=media_first,
    )
    return (
        "query Products($first: Int!, $cursor: String, $query: String) {\n"
        "  products(first: $first, after: $cursor, sortKey: UPDATED_AT, query: $query) {\n"
        "    pageInfo { hasNextPage endCursor }\n"
        "    nodes {" + body + "    }\n  }\n}\n"
    )


_MAX_COST = re.compile(r"Query cost is (\d+), which exceeds the single query max cost limit \((\d+)\)")


class _TooCostly(Exception):
    """Shopify refused the query as too costly for one request."""

    def __init__(self, cost: int | None, limit: int | None, message: str) -> None:
        super().__init__(message)
        self.cost, self.limit, self.message = cost, limit, message


def _pairs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().lower()] = v.strip().upper()
    return out


class ShopifyAdmin:
    """Products from the Shopify Admin GraphQL API."""

    kind = "shopify"

    def __init__(
        self,
        source: str | Path | None = None,
        *,
        since: datetime | str | None = None,
        token: str | None = None,
        api_version: str | None = None,
        markets: dict[str, str] | str | None = None,
        locales: list[str] | str | None = None,
        page_size: int = 50,
        variants_first: int = 100,
        media_first: int = 20,
        query: str = "status:active",
        check_version: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_wait: float = 120.0,
        **_options: object,
    ) -> None:
        store = str(source or "")
        if store.rstrip("/:") in ("", "shopify"):  # "shopify://" alone: the store from the environment
            store = os.environ.get("SHOPIFY_STORE_URL", "")
        if not store:
            raise InputError("no Shopify store: pass shopify://SHOP.myshopify.com or set SHOPIFY_STORE_URL")
        if store.startswith("shopify://"):
            store = "https://" + store[len("shopify://"):]
        elif "://" not in store:
            store = "https://" + store
        self.store = store.rstrip("/")
        self.api_version = api_version or os.environ.get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION
        self.endpoint = f"{self.store}/admin/api/{self.api_version}/graphql.json"
        token = token or setting("SHOPIFY_ACCESS_TOKEN")
        if not token:
            raise InputError("no Shopify access token: set SHOPIFY_ACCESS_TOKEN (or pass token from a Secret block)")
        if isinstance(markets, str):  # "germany=DE,japan=JP", as the CLI and the environment give it
            markets = _pairs(markets)
        self.markets = {k.lower(): v.upper() for k, v in (markets or _pairs(os.environ.get("SHOPIFY_MARKETS", ""))).items()}
        if locales is None:
            locales = os.environ.get("SHOPIFY_LOCALES", "")
        if isinstance(locales, str):
            locales = [x.strip() for x in locales.split(",") if x.strip()]
        self.locales = list(locales)
        if not 1 <= page_size <= MAX_PAGE:
            raise InputError(f"page_size {page_size} must be between 1 and {MAX_PAGE}")
        self.page_size = page_size
        self.variants_first = max(1, min(variants_first, MAX_PAGE))
        self.media_first = max(1, min(media_first, MAX_PAGE))
        self.since = parse_since(since)
        self.filter = query
        self.check_version = check_version
        self.problems: list[CatalogProblem] = []
        self.client = HttpClient(
            name="Shopify Admin API",
            timeout=timeout,
            max_attempts=max_attempts,
            max_wait=max_wait,
            sleep=sleep,
            headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json"},
        )
        self.throttle = Throttle(sleep=sleep, max_retries=max_attempts - 1, max_wait=max_wait)

    def __repr__(self) -> str:
        return f"ShopifyAdmin({self.store!r}, api_version={self.api_version!r})"

    def _search(self) -> str:
        parts = [self.filter] if self.filter else []
        if self.since is not None:
            parts.append(f"updated_at:>'{self.since.isoformat()}'")
        return " ".join(parts)

    def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL call, retried on timeouts, 5xx, 429 and THROTTLED; errors become productreel errors."""
        body = self.throttle.call(lambda: self._send(query, variables), where=self.store)
        if body.get("errors") and not body.get("data"):
            messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body["errors"])
            cost = _MAX_COST.search(messages)
            codes = {(e.get("extensions") or {}).get("code") for e in body["errors"] if isinstance(e, dict)}
            if cost or "MAX_COST_EXCEEDED" in codes:
                raise _TooCostly(int(cost.group(1)) if cost else None, int(cost.group(2)) if cost else None, messages)
            raise InputError(f"Shopify Admin API query failed: {messages}", where=self.store)
        return body["data"]

    def _send(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One POST (the HTTP client retries transport failures); the parsed answer of a 200."""
        resp = self.client.request("POST", self.endpoint, json={"query": query, "variables": variables})
        if resp.status_code in (401, 403):
            raise InputError(f"Shopify rejected the access token (HTTP {resp.status_code})", where=self.store)
        if resp.status_code == 423:
            raise PermanentError("Shopify store is locked (HTTP 423)", where=self.store)
        if resp.status_code != 200:
            raise InputError(f"Shopify Admin API answered HTTP {resp.status_code}", where=self.store)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError("Shopify Admin API answered with a body that is not JSON", where=self.store)
        return body

    def supported_versions(self) -> dict[str, bool]:
        """The store's API versions (``publicApiVersions``): handle -> still supported."""
        data = self._post("{ publicApiVersions { handle supported } }", {})
        return {v["handle"]: bool(v.get("supported")) for v in data.get("publicApiVersions") or [] if v.get("handle")}

    def products(self) -> Iterator[Product]:
        """Yield every product page by page; a product that cannot be read becomes a problem."""
        if self.check_version:
            versions = self.supported_versions()
            if versions and not versions.get(self.api_version, False):
                known = ", ".join(sorted(v for v, ok in versions.items() if ok))
                raise InputError(
                    f"Shopify API version {self.api_version} is not supported by this store; "
                    f"set SHOPIFY_API_VERSION to one of {known}",
                    where=self.store,
                )
        countries = list(self.markets.values())
        query = build_query(countries, self.locales, variants_first=self.variants_first, media_first=self.media_first)
        cursor: str | None = None
        first = self.page_size
        while True:
            try:
                data = self._post(query, {"first": first, "cursor": cursor, "query": self._search() or None})
            except _TooCostly as exc:
                # Shopify prices a query before running it (connections x first); a smaller page fits.
                if first == 1:
                    raise InputError(
                        f"Shopify refused even one product per page ({exc.message}); "
                        "lower variants_first/media_first or read fewer markets and locales at once",
                        where=self.store,
                    ) from None
                first = max(1, (first * exc.limit) // exc.cost) if exc.cost and exc.limit else first // 2
                continue
            page = (data or {}).get("products") or {}
            for node in page.get("nodes") or []:
                self._complete(node)
                product = self._product(node)
                if product is not None:
                    yield product
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            cursor = info.get("endCursor")
            if not cursor:
                raise InputError("Shopify said there is a next page but gave no cursor", where=self.store)

    def _complete(self, node: dict[str, Any]) -> None:
        """Page through the rest of a product's variants and media when the products page held only the first ones."""
        for field, size in (("variants", self.variants_first), ("media", self.media_first)):
            conn = node.get(field) or {}
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                continue
            nodes = list(conn.get("nodes") or [])
            cursor = info.get("endCursor")
            query = build_more_query(field, list(self.markets.values()))
            while cursor:
                try:
                    data = self._post(query, {"id": node.get("id"), "first": size, "cursor": cursor})
                except _TooCostly as exc:
                    if size == 1:
                        raise InputError(f"Shopify refused even one of a product's {field} per page ({exc.message})",
                                         where=self.store) from None
                    size = max(1, (size * exc.limit) // exc.cost) if exc.cost and exc.limit else size // 2
                    continue
                page = ((data or {}).get("product") or {}).get(field) or {}
                nodes.extend(page.get("nodes") or [])
                info = page.get("pageInfo") or {}
                cursor = info.get("endCursor") if info.get("hasNextPage") else None
            if info.get("hasNextPage"):  # a next page without a cursor: keep what was read, and say so
                self.problems.append(CatalogProblem(
                    str(node.get("id") or "?"), f"Shopify gave no cursor for more {field}; only the first {len(nodes)} were read",
                    node.get("handle") or None))
            node[field] = {"nodes": nodes, "pageInfo": {"hasNextPage": False}}

    def _product(self, node: dict[str, Any]) -> Product | None:
        pid = str(node.get("id") or "?")
        handle = node.get("handle") or pid
        try:
            return self._build(node, pid, handle)
        except (BadValue, ValidationError, KeyError, TypeError, ValueError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            self.problems.append(CatalogProblem(pid, f"{reason}; product skipped", handle))
            return None

    def _build(self, node: dict[str, Any], pid: str, handle: str) -> Product:
        if not node.get("title"):
            raise BadValue("product has no title")
        store_currency = ((node.get("priceRangeV2") or {}).get("minVariantPrice") or {}).get("currencyCode") or "USD"
        store_currency = check_currency(store_currency)
        variants = []
        market_best: dict[str, tuple[Decimal, str, Decimal | None]] = {}
        names = list(self.markets)
        for v in (node.get("variants") or {}).get("nodes") or []:
            options = {
                o["name"]: o["value"]
                for o in v.get("selectedOptions") or []
                if not (o.get("name") == "Title" and o.get("value") == "Default Title")
            }
            variants.append(
                {
                    "sku": v.get("sku") or "",
                    "title": v.get("title") or "",
                    "options": options,
                    "price": parse_price(str(v.get("price") or "")),
                    "currency": store_currency,
                    "compare_at_price": parse_price(str(v.get("compareAtPrice") or ""), "compare-at price"),
                    "gtin": v.get("barcode") or "",
                }
            )
            for i, market in enumerate(names):
                ctx = v.get(f"price_{i}") or {}
                money = ctx.get("price") or {}
                if money.get("amount") is None:
                    continue
                amount = parse_price(str(money["amount"]), f"{market} price")
                currency = check_currency(str(money.get("currencyCode") or ""))
                cap = (ctx.get("compareAtPrice") or {}).get("amount")
                compare = parse_price(str(cap), f"{market} compare-at price") if cap is not None else None
                if amount is not None and (market not in market_best or amount < market_best[market][0]):
                    market_best[market] = (amount, currency, compare)
        images = []
        for m in (node.get("media") or {}).get("nodes") or []:
            image = m.get("image") or {}
            if m.get("mediaContentType", "IMAGE") == "IMAGE" and image.get("url"):
                images.append({"src": image["url"], "alt": m.get("alt") or image.get("altText") or ""})
        translations: dict[str, dict[str, Any]] = {}
        for i, locale in enumerate(self.locales):
            found = {t.get("key"): t.get("value") or "" for t in node.get(f"tr_{i}") or []}
            title, body = found.get("title", ""), found.get("body_html", "")
            if title or body:
                translations[locale] = {"title": title, "description": html_to_text(body)}
        html = node.get("descriptionHtml") or ""
        # publishedInContext false: not sold in that market (null, e.g. without the scope to ask: no exclusion)
        not_sold = sorted(m for i, m in enumerate(names) if node.get(f"pub_{i}") is False)
        return Product.model_validate(
            {
                "id": pid,
                "handle": handle,
                "title": node["title"],
                "description": html_to_text(html),
                "description_html": html,
                "brand": node.get("vendor") or "",
                "category": node.get("productType") or "",
                "tags": list(node.get("tags") or []),
                "variants": variants,
                "images": images,
                "features": split_list((node.get("features") or {}).get("value") or ""),
                "steps": split_list((node.get("steps") or {}).get("value") or ""),
                "translations": translations,
                "prices": {m: {"amount": a, "currency": c, "compare_at": cap} for m, (a, c, cap) in market_best.items()
                           if m not in not_sold},
                "not_sold_in": not_sold,
                "updated_at": node.get("updatedAt"),
                "source": pid,
            }
        )
