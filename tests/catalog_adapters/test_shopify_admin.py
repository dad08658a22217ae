"""The Shopify Admin GraphQL reader against a local server that follows the documented contract."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from catalog_adapters import open_catalog
from catalog_adapters.shopify import build_query
from productreel.errors import InputError, TransientError
from productreel.shopify_throttle import throttle_wait

TOKEN = "shpat_test_secret_token"
PATH = "/admin/api/2025-01/graphql.json"
COST = {"requestedQueryCost": 752, "actualQueryCost": 40,
        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 960, "restoreRate": 50.0}}


def node(n: int, price: str = "18.00") -> dict:
    """One product node as the Admin API returns it for the query with DE/JP pricing and de/ja translations."""
    return {
        "id": f"gid://shopify/Product/{n}", "handle": f"mug-{n}", "title": f"Mug {n}",
        "descriptionHtml": "<p>Stoneware.</p><ul><li>350 ml</li></ul>", "vendor": "Fieldhouse",
        "productType": "Kitchen", "tags": ["mug"], "status": "ACTIVE", "updatedAt": "2025-03-01T10:00:00Z",
        "priceRangeV2": {"minVariantPrice": {"amount": price, "currencyCode": "USD"}},
        "features": {"value": json.dumps(["350 ml", "Stoneware"])}, "steps": None,
        "media": {"nodes": [
            {"mediaContentType": "IMAGE", "alt": "A mug", "image": {"url": f"https://cdn.shopify.com/{n}.jpg", "altText": "A mug"}},
            {"mediaContentType": "VIDEO", "alt": ""},
        ]},
        "variants": {"nodes": [
            {"id": f"gid://shopify/ProductVariant/{n}1", "title": "White", "sku": f"M{n}-W", "barcode": "123",
             "price": price, "compareAtPrice": "25.00", "selectedOptions": [{"name": "Color", "value": "White"}],
             "price_0": {"price": {"amount": "17.9", "currencyCode": "EUR"}, "compareAtPrice": {"amount": "23.0", "currencyCode": "EUR"}},
             "price_1": {"price": {"amount": "2400.0", "currencyCode": "JPY"}, "compareAtPrice": None}},
            {"id": f"gid://shopify/ProductVariant/{n}2", "title": "Blue", "sku": f"M{n}-B", "barcode": "",
             "price": "19.00", "compareAtPrice": None, "selectedOptions": [{"name": "Color", "value": "Blue"}],
             "price_0": {"price": {"amount": "18.9", "currencyCode": "EUR"}, "compareAtPrice": None},
             "price_1": {"price": {"amount": "2300.0", "currencyCode": "JPY"}, "compareAtPrice": None}},
        ]},
        "tr_0": [{"key": "title", "value": f"Becher {n}", "locale": "de"},
                 {"key": "body_html", "value": "<p>Steinzeug.</p>", "locale": "de"}],
        "tr_1": [{"key": "title", "value": f"マグカップ {n}", "locale": "ja"}],
    }


class FakeShopify:
    """Serves products in pages of the requested size, with switchable failures before each answer."""

    def __init__(self, products: list[dict]) -> None:
        self.products = products
        self.failures: list[str] = []  # consumed one per request: "429", "throttled", "502"
        self.requests: list[dict] = []

    def __call__(self, request: Request) -> Response:
        if request.headers.get("X-Shopify-Access-Token") != TOKEN:
            return Response(json.dumps({"errors": "[API] Invalid API key or access token"}), status=401)
        body = request.get_json()
        if "publicApiVersions" in body["query"]:
            versions = [{"handle": "2024-10", "supported": False}, {"handle": "2025-01", "supported": True},
                        {"handle": "2025-04", "supported": True}]
            return Response(json.dumps({"data": {"publicApiVersions": versions}, "extensions": {"cost": COST}}),
                            content_type="application/json")
        self.requests.append(body)
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "429":
                return Response("{}", status=429, headers={"Retry-After": "2"})
            if failure == "502":
                return Response("bad gateway", status=502)
            if failure == "throttled":
                cost = {"requestedQueryCost": 752, "actualQueryCost": None,
                        "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}
                return Response(json.dumps({"errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": {"cost": cost}}), content_type="application/json")
        variables = body["variables"]
        first = variables["first"]
        assert first <= 250
        start = int(variables["cursor"] or 0)
        page = self.products[start:start + first]
        end = start + len(page)
        data = {"products": {"pageInfo": {"hasNextPage": end < len(self.products), "endCursor": str(end)},
                             "nodes": page}}
        return Response(json.dumps({"data": data, "extensions": {"cost": COST}}), content_type="application/json")


@pytest.fixture
def shop(httpserver):
    fake = FakeShopify([node(n) for n in range(5)])
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    return fake


@pytest.fixture
def sleeps():
    return []


def admin(httpserver, sleeps, **options):
    options.setdefault("token", TOKEN)
    return open_catalog(httpserver.url_for("/"), "shopify", markets={"germany": "DE", "japan": "JP"},
                        locales=["de", "ja"], sleep=sleeps.append, **options)


def test_pages_prices_and_translations(httpserver, shop, sleeps):
    adapter = admin(httpserver, sleeps, page_size=2)
    products = list(adapter.products())
    assert [p.handle for p in products] == [f"mug-{n}" for n in range(5)]
    assert len(shop.requests) == 3 and [r["variables"]["cursor"] for r in shop.requests] == [None, "2", "4"]
    mug = products[0]
    assert mug.id == "gid://shopify/Product/0" and mug.description == "Stoneware.\n350 ml"
    assert [v.options for v in mug.variants] == [{"Color": "White"}, {"Color": "Blue"}]
    assert mug.compare_at_price == Decimal("25.00") and mug.features == ["350 ml", "Stoneware"]
    assert mug.prices["germany"].amount == Decimal("17.9") and mug.prices["germany"].compare_at == Decimal("23.0")
    assert mug.prices["japan"].amount == Decimal("2300.0") and mug.prices["japan"].currency == "JPY"
    assert mug.translations["de"].title == "Becher 0" and mug.translations["de"].description == "Steinzeug."
    assert mug.translations["ja"].title == "マグカップ 0"
    assert [i.src for i in mug.images] == ["https://cdn.shopify.com/0.jpg"]
    assert adapter.problems == [] and sleeps == []


def test_query_asks_each_market_country_and_locale():
    q = build_query(["DE", "JP"], ["de"])
    assert "price_0: contextualPricing(context: {country: DE})" in q
    assert "price_1: contextualPricing(context: {country: JP})" in q
    assert 'tr_0: translations(locale: "de")' in q and "tr_1" not in q


def test_throttled_429_waits_retry_after(httpserver, shop, sleeps):
    shop.failures = ["429"]
    assert len(list(admin(httpserver, sleeps).products())) == 5
    assert sleeps == [2.0]


def test_throttled_200_waits_what_the_bucket_needs(httpserver, shop, sleeps):
    shop.failures = ["throttled"]
    assert len(list(admin(httpserver, sleeps).products())) == 5
    assert sleeps == [pytest.approx((752 - 666) / 50 + 0.05)]


def test_502_then_success_backs_off(httpserver, shop, sleeps):
    shop.failures = ["502"]
    assert len(list(admin(httpserver, sleeps).products())) == 5
    assert sleeps == [1.0]


def test_persistent_failure_gives_up_within_bounds(httpserver, shop, sleeps):
    shop.failures = ["502"] * 20
    with pytest.raises(TransientError, match="still failing"):
        list(admin(httpserver, sleeps, max_attempts=4).products())
    assert sleeps == [1.0, 2.0, 4.0]
    shop.failures = ["502"] * 20
    sleeps.clear()
    with pytest.raises(TransientError, match="limit"):
        list(admin(httpserver, sleeps, max_wait=5.0).products())
    assert sum(sleeps) <= 5.0


def test_since_filters_on_updated_at(httpserver, shop, sleeps):
    list(admin(httpserver, sleeps, since="2025-02-01T00:00:00Z").products())
    assert shop.requests[0]["variables"]["query"] == "status:active updated_at:>'2025-02-01T00:00:00+00:00'"


def test_bad_token_is_an_input_error_that_does_not_show_the_token(httpserver, shop, sleeps):
    with pytest.raises(InputError) as info:
        list(admin(httpserver, sleeps, token="wrong-token").products())
    assert "401" in str(info.value) and "wrong-token" not in str(info.value)
    assert TOKEN not in repr(admin(httpserver, sleeps)) and TOKEN not in repr(admin(httpserver, sleeps).client)


def test_token_comes_from_the_environment(httpserver, shop, sleeps, monkeypatch):
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    adapter = open_catalog(httpserver.url_for("/"), "shopify", sleep=sleeps.append)
    assert len(list(adapter.products())) == 5
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN")
    with pytest.raises(InputError, match="SHOPIFY_ACCESS_TOKEN"):
        open_catalog(httpserver.url_for("/"), "shopify")


def test_a_bad_product_is_a_problem_naming_its_id(httpserver, sleeps):
    fake = FakeShopify([node(1), node(2, price="abc"), node(3)])
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    adapter = admin(httpserver, sleeps)
    assert [p.handle for p in adapter.products()] == ["mug-1", "mug-3"]
    assert [str(p) for p in adapter.problems] == [
        "gid://shopify/Product/2: product mug-2: price 'abc' is not a number; product skipped"]


def test_throttle_wait_reads_the_bucket():
    assert throttle_wait({"data": {}}) is None
    body = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": 100, "throttleStatus": {"currentlyAvailable": 0, "restoreRate": 100}}}}
    assert throttle_wait(body) == pytest.approx(1.05)


class CostlyShopify(FakeShopify):
    """Refuses a page whose priced cost (first x 300) passes 1000, as Shopify prices connections."""

    def __call__(self, request: Request) -> Response:
        body = request.get_json()
        cost = 2 + body["variables"].get("first", 0) * 300
        if cost > 1000:
            self.requests.append(body)
            return Response(json.dumps({"errors": [{"message": f"Query cost is {cost}, which exceeds the single query max cost limit (1000).",
                                                    "extensions": {"code": "MAX_COST_EXCEEDED"}}]}), content_type="application/json")
        return super().__call__(request)


def test_a_too_costly_page_is_retried_smaller(httpserver, sleeps):
    fake = CostlyShopify([node(n) for n in range(7)])
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    adapter = admin(httpserver, sleeps, page_size=50)
    assert [p.handle for p in adapter.products()] == [f"mug-{n}" for n in range(7)]
    assert [r["variables"]["first"] for r in fake.requests][:3] == [50, 3, 3]


def test_more_variants_without_a_cursor_is_reported(httpserver, sleeps):
    many = node(1)
    many["variants"]["pageInfo"] = {"hasNextPage": True}
    httpserver.expect_request(PATH, method="POST").respond_with_handler(FakeShopify([many]))
    adapter = admin(httpserver, sleeps, variants_first=2)
    assert len(list(adapter.products())) == 1
    assert [str(p) for p in adapter.problems] == [
        "gid://shopify/Product/1: product mug-1: Shopify gave no cursor for more variants; only the first 2 were read"]


def test_token_from_a_registered_secret_source(httpserver, shop, sleeps, monkeypatch):
    from catalog_adapters.base import set_secret_source

    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN", raising=False)
    asked = []
    set_secret_source(lambda name: (asked.append(name), TOKEN)[1])
    try:
        adapter = open_catalog(httpserver.url_for("/"), "shopify", sleep=sleeps.append)
        assert len(list(adapter.products())) == 5 and asked == ["shopify-access-token"]
    finally:
        set_secret_source(None)


def test_store_from_the_environment(httpserver, shop, sleeps, monkeypatch):
    monkeypatch.setenv("SHOPIFY_STORE_URL", httpserver.url_for("/"))
    adapter = open_catalog("shopify://", token=TOKEN, sleep=sleeps.append)
    assert adapter.endpoint == httpserver.url_for(PATH) and len(list(adapter.products())) == 5


def test_markets_and_locales_as_text(httpserver, shop, sleeps):
    adapter = open_catalog(httpserver.url_for("/"), "shopify", token=TOKEN, markets="germany=de, japan=JP",
                           locales="de,ja", sleep=sleeps.append)
    assert adapter.markets == {"germany": "DE", "japan": "JP"} and adapter.locales == ["de", "ja"]
    assert list(adapter.products())[0].prices["japan"].currency == "JPY"


def test_an_unsupported_api_version_is_refused(httpserver, shop, sleeps, monkeypatch):
    httpserver.expect_request("/admin/api/2024-10/graphql.json", method="POST").respond_with_handler(shop)
    monkeypatch.setenv("SHOPIFY_API_VERSION", "2024-10")
    with pytest.raises(InputError, match="2024-10 is not supported.*2025-01, 2025-04"):
        list(admin(httpserver, sleeps).products())


def test_content_hash_ignores_update_times_but_not_prices(httpserver, sleeps):
    touched = node(1)
    touched["updatedAt"] = "2025-06-01T00:00:00Z"
    repriced = node(1)
    repriced["variants"]["nodes"][0]["price_0"]["price"]["amount"] = "16.9"
    fake = FakeShopify([node(1), touched, repriced])
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake)
    adapter = admin(httpserver, sleeps)
    base, same, changed = (p.content_hash for p in adapter.products())
    assert base == same and base != changed
