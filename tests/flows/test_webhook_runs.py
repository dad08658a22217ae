"""Signed storefront deliveries against the running receiver (uvicorn on loopback) start the right runs.

Shopify by numeric id and by GID, a WooCommerce update and a variation naming
its parent each start one product-changed run of the right product, with a
CSV catalog and with an API catalog (Shopify Admin, WooCommerce REST). The
runs are real flow runs up to the planned jobs; making the clips is stubbed
(rendering has its own tests), so what is checked is which product each run
made. A delete takes the product's published clips down once.
"""

from __future__ import annotations

import csv
import json
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from productreel.ledger import Ledger
from productreel.models import Destination, Product
from publishers.webhooks import create_app, sign

ROOT = Path(__file__).resolve().parents[2]
SHOPIFY_SECRET, WOO_SECRET = "whsec_shopify_test", "wc_secret_test"

pytestmark = pytest.mark.slow


@pytest.fixture
def csv_catalog(tmp_path) -> Path:
    """Three sample products as a Shopify CSV export (handles and SKUs, no store ids)."""
    with open(ROOT / "samples" / "catalog.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = [r for r in reader if r["Handle"] in {"ceramic-mug", "chef-knife", "camping-lantern"}]
    path = tmp_path / "catalog" / "cat.csv"
    path.parent.mkdir()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    (path.parent / "images").symlink_to(ROOT / "samples" / "images")
    return path


@pytest.fixture
def made(monkeypatch) -> list[list[str]]:
    """The products each product-changed run planned clips for (one list per run); no clip is rendered."""
    import flows.catalog_batch as catalog_batch

    runs: list[list[str]] = []

    def make_clips(run, jobs, submit, **_kw):
        runs.append(sorted({job.handle for job, _ in jobs}))
        return []

    monkeypatch.setattr(catalog_batch, "make_clips", make_clips)
    return runs


@pytest.fixture
def remote_images(monkeypatch):
    """An API catalog's image URLs resolve to a sample photo (no network)."""
    import catalog_adapters.images as images

    photo = next((ROOT / "samples" / "images").glob("*.jpg"))
    monkeypatch.setattr(images, "fetch_image", lambda src, **kw: photo)


class Receiver:
    """The receiver app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.executor.shutdown(wait=True)

    def shopify(self, body: dict, *, webhook_id: str, topic: str = "products/update", secret: str = SHOPIFY_SECRET):
        raw = json.dumps(body).encode()
        return httpx.post(f"{self.url}/webhooks/shopify", content=raw, timeout=10, headers={
            "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sign(raw, secret), "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": "demo.myshopify.com", "X-Shopify-Triggered-At": "2026-06-01T12:00:00Z",
            "Content-Type": "application/json"})

    def woocommerce(self, body: dict, *, delivery: str, topic: str = "product.updated", secret: str = WOO_SECRET):
        raw = json.dumps(body).encode()
        return httpx.post(f"{self.url}/webhooks/woocommerce", content=raw, timeout=10, headers={
            "X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Delivery-ID": delivery, "X-WC-Webhook-Signature": sign(raw, secret),
            "Content-Type": "application/json"})

    def settle(self) -> None:
        """Wait until every handed-on run has finished."""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if httpx.get(f"{self.url}/healthz", timeout=5).json()["queue_depth"] == 0:
                return
            time.sleep(0.1)
        raise AssertionError("runs still queued after 240 s")


def receiver(tmp_path, catalog: str, source: str | None = None, **options) -> Receiver:
    from flows.product_changed import make_on_product

    out = tmp_path / "out"
    out.mkdir(parents=True, exist_ok=True)
    on_product = make_on_product(catalog=catalog, source=source, markets=["us"], kinds=["ad"], out=str(out),
                                 profile="tiny", **options)
    return Receiver(create_app(on_product, db_url=f"sqlite:///{out}/ledger.sqlite", secret=SHOPIFY_SECRET,
                               woocommerce_secret=WOO_SECRET))


def shopify_product(pid, handle: str, *skus: str) -> dict:
    return {"id": pid, "handle": handle, "title": handle, "updated_at": "2026-06-01T10:00:00Z",
            "variants": [{"id": 1, "sku": s} for s in skus]}


def woo_product(pid: int, slug: str, sku: str = "", **extra) -> dict:
    return {"id": pid, "slug": slug, "name": slug, "type": "simple", "sku": sku, "parent_id": 0,
            "date_modified_gmt": "2026-06-01T10:00:00", **extra}


def test_each_storefront_event_runs_its_product_from_a_csv_catalog(prefect_harness, tmp_path, csv_catalog, made):
    with receiver(tmp_path, str(csv_catalog)) as r:
        # A CSV knows handles and SKUs only: each delivery is matched by whichever it carries.
        assert r.shopify(shopify_product(1234, "ceramic-mug", "MUG-WHT"), webhook_id="s1").status_code == 200
        r.settle()
        assert r.shopify(shopify_product("gid://shopify/Product/5678", "chef-knife"), webhook_id="s2").status_code == 200
        r.settle()
        assert r.woocommerce(woo_product(794, "camping-lantern", "LANT-01"), delivery="w1").status_code == 200
        r.settle()
        variation = woo_product(901, "ceramic-mug-blue", "MUG-BLU", type="variation", parent_id=795)
        assert r.woocommerce(variation, delivery="w2").json() == {"status": "accepted", "product_id": "795"}
        r.settle()
    assert made == [["ceramic-mug"], ["chef-knife"], ["camping-lantern"], ["ceramic-mug"]]


def test_each_storefront_event_runs_its_product_from_an_api_catalog(prefect_harness, tmp_path, httpserver, monkeypatch,
                                                                    made, remote_images):
    from tests.catalog_adapters.test_shopify_admin import PATH, TOKEN, FakeShopify, node
    from tests.catalog_adapters.test_woocommerce import KEY, SECRET, FakeWoo, product

    httpserver.expect_request(PATH, method="POST").respond_with_handler(FakeShopify([node(n) for n in range(5)]))
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    with receiver(tmp_path, httpserver.url_for("/"), "shopify") as r:
        # The Admin API names products by GID: a numeric id and a GID both find it, even under a new handle.
        assert r.shopify(shopify_product(3, "renamed-mug"), webhook_id="s1").status_code == 200
        r.settle()
        assert r.shopify(shopify_product("gid://shopify/Product/1", "mug-1"), webhook_id="s2").status_code == 200
        r.settle()
    assert made == [["mug-3"], ["mug-1"]]

    made.clear()
    httpserver.clear()
    woo = FakeWoo([product(1), product(2, type="variable", sku=""), product(3)], "oauth1")
    httpserver.expect_request("/wp-json/wc/v3/products").respond_with_handler(woo)
    httpserver.expect_request("/wp-json/wc/v3/products/2/variations").respond_with_handler(woo)
    monkeypatch.setenv("WOOCOMMERCE_CONSUMER_KEY", KEY)
    monkeypatch.setenv("WOOCOMMERCE_CONSUMER_SECRET", SECRET)
    with receiver(tmp_path / "woo", httpserver.url_for("/"), "woocommerce") as r:
        assert r.woocommerce(woo_product(3, "tee-3", "T3"), delivery="w1").status_code == 200
        r.settle()
        variation = woo_product(101, "tee-2-s", "V-S", type="variation", parent_id=2)
        assert r.woocommerce(variation, delivery="w2").status_code == 200
        r.settle()
    assert made == [["tee-3"], ["tee-2"]]


def test_bad_signatures_duplicates_and_older_events(prefect_harness, tmp_path, csv_catalog, made):
    with receiver(tmp_path, str(csv_catalog)) as r:
        mug = shopify_product(1234, "ceramic-mug")
        assert r.shopify(mug, webhook_id="s1", secret="wrong").status_code == 401
        assert r.woocommerce(woo_product(794, "ceramic-mug"), delivery="w0", secret="wrong").status_code == 401
        assert r.shopify(mug, webhook_id="s1").json()["status"] == "accepted"
        assert r.shopify(mug, webhook_id="s1").json()["status"] == "duplicate"
        older = dict(mug, updated_at="2026-06-01T09:00:00Z")
        assert r.shopify(older, webhook_id="s0").json()["status"] == "stale"
        assert r.woocommerce(woo_product(794, "ceramic-mug"), delivery="w1").json()["status"] == "accepted"
        assert r.woocommerce(woo_product(794, "ceramic-mug"), delivery="w1").json()["status"] == "duplicate"
        old_woo = woo_product(794, "ceramic-mug", date_modified_gmt="2026-06-01T08:00:00")
        assert r.woocommerce(old_woo, delivery="w2").json()["status"] == "stale"
        r.settle()
    assert made == [["ceramic-mug"], ["ceramic-mug"]]


def test_a_product_not_in_the_catalog_is_one_line_and_never_retried(prefect_harness, tmp_path, csv_catalog, made, caplog):
    from flows.runtime import quiet_prefect

    caplog.set_level(logging.INFO)
    with quiet_prefect(), receiver(tmp_path, str(csv_catalog)) as r:  # as serve-webhooks runs it
        ghost = shopify_product(4321, "ghost-mug")
        assert r.shopify(ghost, webhook_id="g1").json()["status"] == "accepted"
        r.settle()
        assert r.shopify(ghost, webhook_id="g1").json()["status"] == "duplicate"  # Shopify's retry: not run again
        r.settle()
        assert r.app.state.store.result("g1")[0] == "done"
    assert made == [[]]  # one run, which had nothing to make
    said = [rec.getMessage() for rec in caplog.records if rec.name == "publishers.webhooks"]
    assert [line.rsplit(": ", 1)[1] for line in said if "products/update" in line] == ["accepted", "duplicate"]
    missing = [line for line in said if "not in the catalog" in line]
    assert missing == [f"shopify g1 product 4321 (ghost-mug): product-changed: product 4321 (handle ghost-mug) "
                       f"is not in the catalog {csv_catalog}; nothing to make"]
    assert not [rec for rec in caplog.records if rec.exc_info], "no traceback anywhere in the receiver's log"


def test_a_delete_takes_the_products_clips_down_once(prefect_harness, tmp_path, csv_catalog, made):
    from productreel.models import RenderedClip
    from publishers.folder import FolderPublisher

    out = tmp_path / "out"
    out.mkdir()
    ledger = Ledger(f"sqlite:///{out}/ledger.sqlite")
    video = tmp_path / "render" / "ad-9x16.mp4"
    video.parent.mkdir()
    video.write_bytes(b"an earlier run's clip")  # the folder copies bytes; what they are does not matter here
    for handle, key in (("ceramic-mug", "k1"), ("chef-knife", "k2")):
        ledger.record_job(f"{handle}/us/ad/9:16", key, "rendered")
        clip = RenderedClip(job_key=key, product_handle=handle, market="us", kind="ad", format="9:16", video=video,
                            duration=1.0, width=64, height=112)
        FolderPublisher().publish(clip, Product(id=handle, handle=handle, title=handle), Destination(name="folder"),
                                  ledger=ledger, out_dir=out)
    mug_dir = out / "published" / "us" / "ceramic-mug"
    assert (mug_dir / "ad-9x16.mp4").is_file()
    with receiver(tmp_path, str(csv_catalog)) as r:
        assert r.shopify(shopify_product(1234, "ceramic-mug", "MUG-WHT"), webhook_id="u1").status_code == 200
        r.settle()
        gone = {"id": 1234}  # products/delete carries the id only; the earlier update gave the handle
        assert r.shopify(gone, webhook_id="d1", topic="products/delete").json()["status"] == "accepted"
        r.settle()
        assert r.shopify(gone, webhook_id="d1", topic="products/delete").json()["status"] == "duplicate"
        assert r.shopify(gone, webhook_id="d2", topic="products/delete").json()["status"] in {"accepted", "stale"}
        r.settle()
        results = [r.app.state.store.result(k) for k in ("d1", "d2")]
    assert made == [["ceramic-mug"]]  # the delete rendered nothing
    assert list(mug_dir.iterdir()) == []
    assert (out / "published" / "us" / "chef-knife" / "ad-9x16.mp4").is_file()
    assert ledger.receipt("k1", "folder").status == "taken-down" and ledger.receipt("k2", "folder").status == "published"
    assert results[0][0] == "done" and "folder: ceramic-mug: removed 1 clip(s)" in results[0][1]
    assert results[1] is None or "nothing was live" in results[1][1]
