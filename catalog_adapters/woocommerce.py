"""WooCommerce REST API v3 read into `Product`s: products, their variations, paginated by X-WP-TotalPages.

Settings (options, else environment): the site URL (``https://shop.example``
or WOOCOMMERCE_URL); ``consumer_key``/``consumer_secret`` (WOOCOMMERCE_CONSUMER_KEY,
WOOCOMMERCE_CONSUMER_SECRET), never logged; ``auth``: ``basic`` (HTTPS),
``query`` (``?consumer_key=&consumer_secret=`` for servers that strip the
Authorization header) or ``oauth1`` (one-legged OAuth 1.0a, what WooCommerce
requires over plain HTTP); ``auto`` picks basic on https and oauth1 on http.
The store currency is not in the product payload: ``currency=`` (default USD).
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import requests
from pydantic import ValidationError

from productreel.errors import InputError
from productreel.models import Product

from .base import BadValue, CatalogProblem, check_currency, html_to_text, parse_price, parse_since, setting, split_list
from .http import HttpClient

PER_PAGE = 100
_FEATURES_KEY = re.compile(r"(^|_)features$", re.I)
_STEPS_KEY = re.compile(r"(^|_)(how_?to_?steps|steps)$", re.I)


class WooCommerce:
    """Products (and variations) from a WooCommerce store's REST API v3."""

    kind = "woocommerce"

    def __init__(
        self,
        source: str | Path | None = None,
        *,
        since: datetime | str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        auth: str = "auto",
        currency: str = "USD",
        status: str = "publish",
        per_page: int = PER_PAGE,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_wait: float = 120.0,
        **_options: object,
    ) -> None:
        site = str(source or os.environ.get("WOOCOMMERCE_URL") or "")
        if not site:
            raise InputError("no WooCommerce site: pass its URL or set WOOCOMMERCE_URL")
        site = site.rstrip("/")
        site = re.sub(r"/wp-json(/wc/v3)?(/products)?$", "", site)
        self.site = site
        self.base = f"{site}/wp-json/wc/v3"
        key = consumer_key or setting("WOOCOMMERCE_CONSUMER_KEY")
        secret = consumer_secret or setting("WOOCOMMERCE_CONSUMER_SECRET")
        if not key or not secret:
            raise InputError("no WooCommerce API key: set WOOCOMMERCE_CONSUMER_KEY and WOOCOMMERCE_CONSUMER_SECRET")
        if auth == "auto":
            auth = "basic" if site.lower().startswith("https://") else "oauth1"
        if auth not in ("basic", "query", "oauth1"):
            raise InputError(f"unknown WooCommerce auth {auth!r}; use basic, query or oauth1")
        self.auth = auth
        self._key, self._secret = key, secret
        try:
            self.currency = check_currency(currency)
        except BadValue as exc:
            raise InputError(f"store currency: {exc}") from None
        self.status = status
        self.per_page = max(1, min(per_page, 100))
        self.since = parse_since(since)
        self.problems: list[CatalogProblem] = []
        self.client = HttpClient(
            name="WooCommerce API",
            timeout=timeout,
            max_attempts=max_attempts,
            max_wait=max_wait,
            sleep=sleep,
            auth=(key, secret) if auth == "basic" else None,
        )

    def __repr__(self) -> str:
        return f"WooCommerce({self.site!r}, auth={self.auth!r})"

    def _url(self, path: str, params: dict[str, Any]) -> str:
        """The request URL, with the query-string or OAuth 1.0a credentials when those are the auth."""
        url = f"{self.base}{path}?{urlencode(params)}"
        if self.auth == "query":
            return f"{url}&{urlencode({'consumer_key': self._key, 'consumer_secret': self._secret})}"
        if self.auth == "oauth1":
            from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY, Client

            client = Client(self._key, client_secret=self._secret, signature_method=SIGNATURE_HMAC_SHA256,
                            signature_type=SIGNATURE_TYPE_QUERY)
            url, _headers, _body = client.sign(url, http_method="GET")
        return url

    def _get(self, path: str, params: dict[str, Any]) -> requests.Response:
        resp = self.client.request("GET", self._url(path, params))
        if resp.status_code == 200:
            return resp
        try:
            detail = resp.json()
            code, message = detail.get("code", ""), detail.get("message", "")
        except ValueError:
            code, message = "", resp.text[:200]
        if resp.status_code == 401 and self.auth == "basic" and "consumer key is missing" in str(message).lower():
            # Some servers strip the Authorization header; WooCommerce then takes the key in the query string.
            self.auth = "query"
            self.client.session.auth = None
            return self._get(path, params)
        reason = f"WooCommerce answered HTTP {resp.status_code} for {path}: {code} {message}".strip()
        raise InputError(reason, where=self.site)

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, following X-WP-TotalPages."""
        page = 1
        while True:
            resp = self._get(path, {**params, "per_page": self.per_page, "page": page})
            items = resp.json()
            if not isinstance(items, list):
                raise InputError(f"WooCommerce answered {path} with something that is not a list", where=self.site)
            yield from items
            try:
                total = int(resp.headers.get("X-WP-TotalPages", "1"))
            except ValueError:
                total = 1
            if page >= total or not items:
                return
            page += 1

    def products(self) -> Iterator[Product]:
        """Yield every product; variable products carry their variations as variants."""
        params: dict[str, Any] = {"status": self.status, "orderby": "modified", "order": "asc"}
        if self.since is not None:
            params["modified_after"] = self.since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            params["dates_are_gmt"] = "true"
        for item in self._pages("/products", params):
            pid = str(item.get("id", "?"))
            handle = item.get("slug") or pid
            try:
                variations = (
                    list(self._pages(f"/products/{pid}/variations", {})) if item.get("type") == "variable" else []
                )
                yield self._build(item, variations)
            except (BadValue, ValidationError, KeyError, TypeError, ValueError) as exc:
                reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                self.problems.append(CatalogProblem(f"product {pid}", f"{reason}; product skipped", handle))

    def _variant(self, v: dict[str, Any], title: str) -> dict[str, Any]:
        regular = parse_price(str(v.get("regular_price") or ""), "regular_price")
        sale = parse_price(str(v.get("sale_price") or ""), "sale_price")
        price = parse_price(str(v.get("price") or ""), "price")
        if sale is not None:
            price = sale
        elif price is None:
            price = regular
        options = {a["name"]: a["option"] for a in v.get("attributes") or [] if a.get("option")}
        return {
            "sku": v.get("sku") or "",
            "title": " / ".join(options.values()) or title,
            "options": options,
            "price": price,
            "currency": self.currency,
            "compare_at_price": regular if regular is not None and price is not None and regular > price else None,
            "gtin": v.get("global_unique_id") or "",
        }

    def _build(self, item: dict[str, Any], variations: list[dict[str, Any]]) -> Product:
        pid = str(item["id"])
        if not item.get("name"):
            raise BadValue("product has no name")
        if variations:
            variants = [self._variant(v, item["name"]) for v in variations]
        else:
            variants = [self._variant(item, "Default Title")]
        features: list[str] = []
        steps: list[str] = []
        for meta in item.get("meta_data") or []:
            key, value = str(meta.get("key", "")), meta.get("value")
            text = "\n".join(map(str, value)) if isinstance(value, list) else str(value or "")
            if _FEATURES_KEY.search(key):
                features = split_list(text)
            elif _STEPS_KEY.search(key):
                steps = split_list(text)
        html = item.get("description") or item.get("short_description") or ""
        brands = item.get("brands") or []
        modified = item.get("date_modified_gmt")
        return Product.model_validate(
            {
                "id": pid,
                "handle": item.get("slug") or pid,
                "title": item["name"],
                "description": html_to_text(html),
                "description_html": html,
                "brand": brands[0].get("name", "") if brands and isinstance(brands[0], dict) else "",
                "category": ((item.get("categories") or [{}])[0] or {}).get("name", ""),
                "tags": [t.get("name", "") for t in item.get("tags") or [] if t.get("name")],
                "variants": variants,
                "images": [{"src": i["src"], "alt": i.get("alt") or ""} for i in item.get("images") or [] if i.get("src")],
                "features": features,
                "steps": steps,
                "updated_at": f"{modified}Z" if modified and not modified.endswith("Z") else modified,
                "source": f"woocommerce:{pid}",
                # an external product is bought elsewhere: its URL and button text are the call to action
                "link": (item.get("external_url") or "") if item.get("type") == "external" else "",
                "cta": (item.get("button_text") or "") if item.get("type") == "external" else "",
            }
        )
