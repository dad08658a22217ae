"""The Shopify Admin reader pages through every variant and media item of a product, and reads market publication.

The fake follows the documented contract: cursor pagination (``first`` <= 250, ``after``,
``pageInfo { hasNextPage endCursor }``), connections priced at ``first`` x their nodes with a
single-query limit of 1000, and ``Product.publishedInContext(context: {country})``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from catalog_adapters import open_catalog

TOKEN = "shpat_test_secret_token"
PATH = "/admin/api/2025-01/graphql.json"
COST = {"requestedQueryCost": 100, "actualQueryCost": 40,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 960, "restoreRate": 50.0}}


def variant(pid: int, n: int) -> dict:
    return {"id": f"gid://shopify/ProductVariant/{pid}{n:04d}", "title": f"Size {n}", "sku": f"P{pid}-{n}", "barcode": "",
            "price": f"{10 + n}.00", "compareAtPrice": None, "selectedOptions": [{"name": "Size", "value": str(n)}],
            "price_0": {"price": {"amount": f"{n + 1}.50", "currencyCode": "EUR"}, "compareAtPrice": None}}


def media(pid: int, n: int) -> dict:
    if n % 10 == 9:  # every tenth is a video: not an image
        return {"mediaContentType": "VIDEO", "alt": ""}
    return {"mediaContentType": "IMAGE", "alt": f"view {n}", "image": {"url": f"https://cdn.shopify.com/{pid}/{n}.jpg", "altText": ""}}


class PagingShopify:
    """Products whose variants and media are served page by page, as connections with cursors."""

    def __init__(self, products: dict[int, tuple[int, int]], published: dict[int, bool | None] | None = None) -> None:
        self.products = {pid: ([variant(pid, n) for n in range(nv)], [media(pid, n) for n in range(nm)])
                         for pid, (nv, nm) in products.items()}
        self.published = published or {}
        self.requests: list[dict] = []

    @staticmethod
    def connection(items: list, first: int, after: str | None) -> dict:
        start = int(after or 0)
        page = items[start:start + first]
        end = start + len(page)
        return {"pageInfo": {"hasNextPage": end < len(items), "endCursor": str(end) if page else None}, "nodes": page}

    def __call__(self, request: Request) -> Response:
        assert request.headers.get("X-Shopify-Access-Token") == TOKEN
        body = request.get_json()
        query, variables = body["query"], body["variables"]
        if "publicApiVersions" in query:
            data = {"publicApiVersions": [{"handle": "2025-01", "supported": True}]}
            return Response(json.dumps({"data": data, "extensions": {"cost": COST}}), content_type="application/json")
        self.requests.append(body)
        first = variables["first"]
        assert 1 <= first <= 250
        if "product(id: $id)" in query:
            cost = 1 + first * (4 + 3 * query.count("contextualPricing"))
            if cost > 1000:
                return Response(json.dumps({"errors": [{"message": f"Query cost is {cost}, which exceeds the single query max cost limit (1000).",
                                                        "extensions": {"code": "MAX_COST_EXCEEDED"}}]}), content_type="application/json")
            pid = int(variables["id"].rsplit("/", 1)[-1])
            variants, medias = self.products[pid]
            field = "variants" if "variants(first: $first" in query else "media"
            items = variants if field == "variants" else medias
            data = {"product": {field: self.connection(items, first, variables["cursor"])}}
            return Response(json.dumps({"data": data, "extensions": {"cost": COST}}), content_type="application/json")
        v_first = int(re.search(r"variants\(first: (\d+)\)", query).group(1))
        m_first = int(re.search(r"media\(first: (\d+), sortKey: POSITION\)", query).group(1))
        countries = re.findall(r"(pub_\d+): publishedInContext\(context: \{country: (\w+)\}\)", query)
        nodes = []
        for pid, (variants, medias) in self.products.items():
            node = {"id": f"gid://shopify/Product/{pid}", "handle": f"shirt-{pid}", "title": f"Shirt {pid}",
                    "descriptionHtml": "<p>Cotton.</p>", "vendor": "Fieldhouse", "productType": "Shirts", "tags": [],
                    "status": "ACTIVE", "updatedAt": "2025-03-01T10:00:00Z",
                    "priceRangeV2": {"minVariantPrice": {"amount": "10.00", "currencyCode": "USD"}},
                    "features": None, "steps": None,
                    "variants": self.connection(variants, v_first, None), "media": self.connection(medias, m_first, None)}
            for alias, _country in countries:
                node[alias] = self.published.get(pid, True)
            nodes.append(node)
        data = {"products": self.connection(nodes, first, variables["cursor"])}
        return Response(json.dumps({"data": data, "extensions": {"cost": COST}}), content_type="application/json")


def read(httpserver, fake, **options):
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    options.setdefault("markets", {"germany": "DE"})
    adapter = open_catalog(httpserver.url_for("/"), "shopify", token=TOKEN, locales=[], sleep=lambda s: None, **options)
    return list(adapter.products()), [str(p) for p in adapter.problems]


@pytest.mark.parametrize("variants_first, media_first, variant_pages, media_pages", [
    (100, 20, 2, 2),  # the defaults: 100 + 100 + 50 variants, 20 + 20 + 20 media
    (250, 250, 0, 0),  # everything fits the products page
    (50, 10, 4, 5),
])
def test_every_variant_and_media_item_is_read(httpserver, variants_first, media_first, variant_pages, media_pages):
    fake = PagingShopify({1: (250, 60), 2: (3, 2)})
    products, problems = read(httpserver, fake, variants_first=variants_first, media_first=media_first)
    assert problems == []
    big, small = products
    assert [v.sku for v in big.variants] == [f"P1-{n}" for n in range(250)]
    assert big.variants[249].price == Decimal("259.00") and big.prices["germany"].amount == Decimal("1.50")
    assert [i.src for i in big.images] == [f"https://cdn.shopify.com/1/{n}.jpg" for n in range(60) if n % 10 != 9]
    assert len(small.variants) == 3 and len(small.images) == 2
    more = [r for r in fake.requests if "product(id: $id)" in r["query"]]
    assert sum("variants(first: $first" in r["query"] for r in more) == variant_pages
    assert sum("media(first: $first" in r["query"] for r in more) == media_pages
    assert all(r["variables"]["id"] == "gid://shopify/Product/1" for r in more)  # only the product that had more
    cursors = [r["variables"]["cursor"] for r in more if "variants(first: $first" in r["query"]]
    assert cursors == [str(variants_first * k) for k in range(1, variant_pages + 1)]


def test_a_too_costly_variants_page_is_asked_again_smaller(httpserver):
    fake2 = PagingShopify({1: (600, 1)})
    products, problems = read(httpserver, fake2, variants_first=250,
                              markets={"germany": "DE", "japan": "JP", "france": "FR", "italy": "IT"})
    assert problems == [] and [v.sku for v in products[0].variants] == [f"P1-{n}" for n in range(600)]
    sizes = [r["variables"]["first"] for r in fake2.requests if "product(id: $id)" in r["query"]]
    assert sizes[0] == 250 and all(s < 250 for s in sizes[1:])  # priced over 1000 at 250, then a page that fits


def test_market_publication_decides_where_a_product_is_sold(httpserver):
    fake = PagingShopify({1: (2, 1), 2: (2, 1), 3: (2, 1)}, published={1: True, 2: False, 3: None})
    products, problems = read(httpserver, fake, markets={"germany": "DE", "japan": "JP"})
    assert problems == []
    sold = {p.handle: p.not_sold_in for p in products}
    assert sold == {"shirt-1": [], "shirt-2": ["germany", "japan"], "shirt-3": []}  # null: not known, so not excluded
    assert products[1].prices == {} and "germany" in products[0].prices
    assert 'pub_0: publishedInContext(context: {country: DE})' in fake.requests[0]["query"]
