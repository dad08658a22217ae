"""The WooCommerce REST v3 reader against a local server: pagination headers, variations, three auth styles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from urllib.parse import quote

import pytest
from werkzeug import Request, Response

from catalog_adapters import open_catalog
from productreel.errors import InputError

KEY, SECRET = "ck_test", "cs_secret_value"


def product(n: int, **extra) -> dict:
    item = {"id": n, "name": f"Tee {n}", "slug": f"tee-{n}", "type": "simple", "status": "publish", "sku": f"T{n}",
            "price": "21.99", "regular_price": "21.99", "sale_price": "", "description": "<p>Soft.</p><ul><li>Cotton</li></ul>",
            "short_description": "", "categories": [{"id": 9, "name": "Clothing", "slug": "clothing"}],
            "tags": [{"id": 1, "name": "tee"}], "images": [{"id": 792, "src": f"https://s/{n}.jpg", "name": "", "alt": "Tee"}],
            "attributes": [], "variations": [], "date_modified_gmt": "2025-03-01T10:00:00",
            "meta_data": [{"id": 1, "key": "howto_steps", "value": "Wash cold|Dry flat"}]}
    item.update(extra)
    return item


VARIATIONS = [
    {"id": 101, "sku": "V-S", "price": "18.00", "regular_price": "20.00", "sale_price": "18.00",
     "attributes": [{"id": 6, "name": "Size", "option": "S"}], "global_unique_id": "0012345678905"},
    {"id": 102, "sku": "V-M", "price": "20.00", "regular_price": "20.00", "sale_price": "",
     "attributes": [{"id": 6, "name": "Size", "option": "M"}]},
]


def oauth_ok(request: Request) -> bool:
    """Check a one-legged OAuth 1.0a HMAC-SHA256 query signature (key 'secret&'), written from the spec."""
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "oauth_signature"]
    if dict(params).get("oauth_consumer_key") != KEY:
        return False
    enc = lambda s: quote(s, safe="~")  # noqa: E731
    norm = "&".join(sorted(f"{enc(k)}={enc(v)}" for k, v in params))
    base = "&".join(["GET", enc(request.base_url), enc(norm)])
    digest = hmac.new(f"{SECRET}&".encode(), base.encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), request.args.get("oauth_signature", ""))


class FakeWoo:
    def __init__(self, products: list[dict], auth: str) -> None:
        self.products = products
        self.auth = auth
        self.failures: list[int] = []
        self.requests: list[Request] = []

    def authorized(self, request: Request) -> bool:
        if self.auth == "basic":
            return request.authorization is not None and (request.authorization.username, request.authorization.password) == (KEY, SECRET)
        if self.auth == "query":
            return request.args.get("consumer_key") == KEY and request.args.get("consumer_secret") == SECRET
        return oauth_ok(request)

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if self.failures:
            return Response("oops", status=self.failures.pop(0))
        if self.auth == "query" and "consumer_key" not in request.args:
            return Response(json.dumps({"code": "woocommerce_rest_authentication_error", "message": "Consumer key is missing.",
                                        "data": {"status": 401}}), status=401, content_type="application/json")
        if not self.authorized(request):
            return Response(json.dumps({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                                        "data": {"status": 401}}), status=401, content_type="application/json")
        per_page, page = int(request.args["per_page"]), int(request.args["page"])
        items = VARIATIONS if request.path.endswith("/variations") else self.products
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        return Response(json.dumps(chunk), content_type="application/json",
                        headers={"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)})


def serve(httpserver, auth: str, products: list[dict] | None = None) -> FakeWoo:
    fake = FakeWoo(products if products is not None else
                   [product(1), product(2, type="variable", sku=""), product(3), product(4), product(5)], auth)
    httpserver.expect_request("/wp-json/wc/v3/products").respond_with_handler(fake)
    httpserver.expect_request("/wp-json/wc/v3/products/2/variations").respond_with_handler(fake)
    return fake


def woo(httpserver, auth: str, sleeps: list | None = None, **options):
    options.setdefault("consumer_key", KEY)
    options.setdefault("consumer_secret", SECRET)
    return open_catalog(httpserver.url_for("/"), "woocommerce", auth=auth, sleep=(sleeps if sleeps is not None else []).append, **options)


@pytest.mark.parametrize("auth", ["basic", "query", "oauth1"])
def test_pages_and_variations_with_each_auth(httpserver, auth):
    fake = serve(httpserver, auth)
    adapter = woo(httpserver, auth, per_page=2)
    products = list(adapter.products())
    assert adapter.problems == []
    assert [p.handle for p in products] == [f"tee-{n}" for n in range(1, 6)]
    assert sorted(int(r.args["page"]) for r in fake.requests if r.path.endswith("/products")) == [1, 2, 3]
    simple, variable = products[0], products[1]
    assert simple.variants[0].price == Decimal("21.99") and simple.description == "Soft.\nCotton"
    assert simple.steps == ["Wash cold", "Dry flat"] and simple.category == "Clothing" and simple.tags == ["tee"]
    assert [(v.sku, v.options, v.price, v.compare_at_price) for v in variable.variants] == [
        ("V-S", {"Size": "S"}, Decimal("18.00"), Decimal("20.00")), ("V-M", {"Size": "M"}, Decimal("20.00"), None)]
    assert variable.variants[0].gtin == "0012345678905"
    assert simple.updated_at is not None and simple.updated_at.tzinfo is not None


def test_wrong_key_is_an_input_error_without_the_secret(httpserver):
    serve(httpserver, "basic")
    with pytest.raises(InputError) as info:
        list(woo(httpserver, "basic", consumer_secret="cs_wrong").products())
    assert "401" in str(info.value) and "woocommerce_rest_cannot_view" in str(info.value)
    assert "cs_wrong" not in str(info.value) and SECRET not in repr(woo(httpserver, "basic"))


def test_5xx_is_retried(httpserver):
    fake = serve(httpserver, "basic")
    fake.failures = [500, 503]
    sleeps: list[float] = []
    assert len(list(woo(httpserver, "basic", sleeps).products())) == 5
    assert sleeps == [1.0, 2.0]


def test_since_asks_for_modified_after(httpserver):
    fake = serve(httpserver, "basic")
    list(woo(httpserver, "basic", since="2025-02-01T00:00:00+01:00").products())
    assert fake.requests[0].args["modified_after"] == "2025-01-31T23:00:00"
    assert fake.requests[0].args["dates_are_gmt"] == "true"


def test_bad_price_fails_that_product_only(httpserver):
    serve(httpserver, "basic", [product(1), product(2, price="abc", regular_price="abc")])
    adapter = woo(httpserver, "basic")
    assert [p.handle for p in adapter.products()] == ["tee-1"]
    assert [str(p) for p in adapter.problems] == ["product 2: product tee-2: regular_price 'abc' is not a number; product skipped"]


def test_credentials_from_the_environment(httpserver, monkeypatch):
    serve(httpserver, "basic")
    monkeypatch.setenv("WOOCOMMERCE_CONSUMER_KEY", KEY)
    monkeypatch.setenv("WOOCOMMERCE_CONSUMER_SECRET", SECRET)
    adapter = open_catalog(httpserver.url_for("/wp-json/wc/v3"), "woocommerce", auth="basic")
    assert len(list(adapter.products())) == 5


def test_stripped_authorization_header_falls_back_to_the_query_string(httpserver):
    serve(httpserver, "query")  # this server never sees the Authorization header
    adapter = woo(httpserver, "basic")
    assert len(list(adapter.products())) == 5 and adapter.auth == "query"


def test_an_external_product_keeps_its_url_and_button_text(httpserver):
    pennant = product(7, type="external", external_url="https://mercantile.example/pennant", button_text="Buy at the store")
    serve(httpserver, "basic", [product(1, external_url="https://ignored.example"), pennant])
    tee, pennant = woo(httpserver, "basic").products()
    assert (pennant.link, pennant.cta) == ("https://mercantile.example/pennant", "Buy at the store")
    assert (tee.link, tee.cta) == ("", "")  # only an external product is bought elsewhere
