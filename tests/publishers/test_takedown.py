"""Taking a deleted product's clips down: each destination against its fake, recorded in the ledger, once."""

from __future__ import annotations

import pytest

from productreel.models import Destination, Product, PublishReceipt, Variant
from publishers.folder import FolderPublisher
from publishers.merchant_center import MerchantCenterPublisher
from publishers.shopify import ShopifyClient, ShopifyPublisher
from publishers.takedown import live_destinations, product_handles, take_down_product
from publishers.woocommerce import WooClient, WooCommercePublisher


def rendered(ledger, key: str = "k1", handle: str = "mug", market: str = "us", kind: str = "ad", fmt: str = "9:16") -> None:
    """The job row a run leaves for a clip (take-downs find a product's clips through it)."""
    ledger.record_job(f"{handle}/{market}/{kind}/{fmt}", key, "rendered")


@pytest.fixture
def shopify(shop_env) -> ShopifyPublisher:
    return ShopifyPublisher(client_factory=lambda s: ShopifyClient(s, sleep=lambda _: None, timeout=2),
                            sleep=lambda _: None, env=shop_env)


@pytest.fixture
def woocommerce(woo_env) -> WooCommercePublisher:
    return WooCommercePublisher(client_factory=lambda s: WooClient(s, sleep=lambda _: None, timeout=2), env=woo_env)


SHOP = Destination(name="shopify", options={"poll_interval": 0.01, "max_wait": 30})


def test_shopify_deletes_only_productreel_media_once(shopify, shop, clip, ledger, tmp_path):
    csv_product = Product(id="mug", handle="mug", title="Blue Mug")  # a CSV knows only the handle
    rendered(ledger)
    assert shopify.publish(clip, csv_product, SHOP, ledger=ledger, out_dir=tmp_path).status == "published"
    shop.add_video("Blue Mug video [productreel de/ad/9:16 k9]")  # an older run's clip of another market
    assert len(shop.ours()) == 2
    receipt = shopify.take_down(csv_product, SHOP, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down" and receipt.job_key == "k1"
    assert shop.ours() == []
    assert {m["id"] for m in shop.products["gid://shopify/Product/1001"]["media"]} == {
        "gid://shopify/MediaImage/1", "gid://shopify/Video/2"}  # the merchant's photo and video stay
    assert ledger.receipt("k1", "shopify").status == "taken-down"
    assert ledger.publish_steps("k1", "shopify") == {}  # a later publish starts afresh
    writes = list(shop.writes)
    again = shopify.take_down(csv_product, SHOP, ledger=ledger, out_dir=tmp_path)
    assert again.status == "unchanged" and shop.writes == writes


def test_shopify_product_already_deleted_from_the_store(shopify, shop, clip, product, ledger, tmp_path):
    rendered(ledger)
    shopify.publish(clip, product, SHOP, ledger=ledger, out_dir=tmp_path)
    del shop.products["gid://shopify/Product/1001"]  # products/delete: the store took the media with it
    receipt = shopify.take_down(product, SHOP, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down" and "gone from the store" in receipt.detail
    assert "ProductDeleteMedia" not in shop.writes[-1:]


def test_woocommerce_deletes_uploads_and_empties_the_meta_once(woocommerce, woo, clip, ledger, tmp_path):
    product = Product(id="794", handle="mug", title="Blue Mug")
    rendered(ledger)
    published = woocommerce.publish(clip, product, Destination(name="woocommerce"), ledger=ledger, out_dir=tmp_path)
    assert woo.ours() and {m["key"]: m["value"] for m in woo.products[794]["meta_data"]}["productreel_video_us_ad_9x16"]
    receipt = woocommerce.take_down(product.model_copy(update={"id": "mug"}), Destination(name="woocommerce"),
                                    ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down" and receipt.remote_id == published.remote_id
    assert woo.ours() == [] and 792 in woo.media  # the merchant's video stays
    assert {m["key"]: m["value"] for m in woo.products[794]["meta_data"]}["productreel_video_us_ad_9x16"] == ""
    writes = list(woo.writes)
    assert woocommerce.take_down(product, Destination(name="woocommerce"), ledger=ledger, out_dir=tmp_path).status == "unchanged"
    assert woo.writes == writes


def test_woocommerce_product_deleted_for_good(woocommerce, woo, clip, ledger, tmp_path):
    product = Product(id="794", handle="mug", title="Blue Mug")
    rendered(ledger)
    woocommerce.publish(clip, product, Destination(name="woocommerce"), ledger=ledger, out_dir=tmp_path)
    del woo.products[794]
    for media in woo.media.values():
        media["post"] = 0  # WordPress unparents the attachments of a deleted post
    receipt = woocommerce.take_down(product, Destination(name="woocommerce"), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down" and woo.ours() == []  # found through the ledger, not the parent


def test_merchant_center_drops_the_products_rows_only(clip, make_clip, clip_files, ledger, tmp_path):
    mc = MerchantCenterPublisher()
    mug = Product(id="1", handle="mug", title="Mug", variants=[Variant(sku="MUG-1")])
    feed_ready = {"duration": 15.0, "width": 1080, "height": 1920}  # what the video_link rules read (the file is tiny)
    clip = clip.model_copy(update=feed_ready)
    cap_clip = make_clip(clip_files, "k2").model_copy(update={"product_handle": "cap", **feed_ready})
    cap = Product(id="2", handle="cap", title="Cap", variants=[Variant(sku="CAP-1")])
    for key, url in (("k1", "https://cdn.shopify.com/v/mug.mp4"), ("k2", "https://cdn.shopify.com/v/cap.mp4")):
        ledger.record_receipt(PublishReceipt(destination="shopify", job_key=key, status="published", url=url))
    rendered(ledger)
    rendered(ledger, "k2", handle="cap")
    dest = Destination(name="merchant-center")
    assert mc.publish(clip, mug, dest, ledger=ledger, out_dir=tmp_path).status == "published"
    assert mc.publish(cap_clip, cap, dest, ledger=ledger, out_dir=tmp_path).status == "published"
    feed = tmp_path / "published" / "merchant-center" / "us" / "videos.tsv"
    assert "MUG-1" in feed.read_text()
    receipt = mc.take_down(mug, dest, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down"
    assert feed.read_text().splitlines() == ["id\tvideo_link", "CAP-1\thttps://cdn.shopify.com/v/cap.mp4"]
    assert ledger.receipt("k1", "merchant-center").status == "taken-down"
    assert ledger.receipt("k2", "merchant-center").status == "published"
    assert mc.take_down(mug, dest, ledger=ledger, out_dir=tmp_path).status == "unchanged"


def test_folder_removes_the_clip_and_its_sidecars(clip, product, ledger, tmp_path):
    folder = FolderPublisher()
    rendered(ledger)
    published = folder.publish(clip, product, Destination(name="folder"), ledger=ledger, out_dir=tmp_path)
    clip_dir = tmp_path / "published" / "us" / "mug"
    assert sorted(p.name for p in clip_dir.iterdir()) == [
        "ad-9x16.jpg", "ad-9x16.mp4", "ad-9x16.receipt.json", "ad-9x16.srt", "ad-9x16.vtt"]
    receipt = folder.take_down(product, Destination(name="folder"), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down" and list(clip_dir.iterdir()) == []
    assert ledger.receipt(published.job_key, "folder").status == "taken-down"
    # Taken down is not live: the same clip may be published again (a product restored).
    assert folder.publish(clip, product, Destination(name="folder"), ledger=ledger, out_dir=tmp_path).status == "published"


def test_take_down_product_finds_a_csv_product_by_the_store_id_a_publish_recorded(shopify, shop, clip, ledger, tmp_path,
                                                                                   monkeypatch):
    import publishers.registry as registry

    csv_product = Product(id="mug", handle="mug", title="Blue Mug")
    rendered(ledger)
    shopify.publish(clip, csv_product, SHOP, ledger=ledger, out_dir=tmp_path)
    FolderPublisher().publish(clip, csv_product, Destination(name="folder"), ledger=ledger, out_dir=tmp_path)
    monkeypatch.setitem(registry.PUBLISHERS, "shopify", lambda: shopify)
    gone = Product(id="1001", handle="", title="1001")  # products/delete: only the id
    assert product_handles(ledger, gone) == ["mug"]
    assert live_destinations(ledger, ["mug"]) == ["shopify", "folder"]
    receipts = take_down_product(gone, ledger=ledger, out_dir=tmp_path)
    assert [(r.destination, r.status) for r in receipts] == [("shopify", "taken-down"), ("folder", "taken-down")]
    assert shop.ours() == [] and not (tmp_path / "published" / "us" / "mug" / "ad-9x16.mp4").exists()
    assert take_down_product(gone, ledger=ledger, out_dir=tmp_path) == []  # once


def test_a_destination_that_fails_is_its_own_receipt(clip, product, ledger, tmp_path, monkeypatch):
    rendered(ledger)
    FolderPublisher().publish(clip, product, Destination(name="folder"), ledger=ledger, out_dir=tmp_path)
    ledger.record_receipt(PublishReceipt(destination="shopify", job_key="k1", status="published"))
    monkeypatch.delenv("SHOPIFY_STORE_URL", raising=False)
    receipts = take_down_product(product, ledger=ledger, out_dir=tmp_path)
    assert [(r.destination, r.status) for r in receipts] == [("shopify", "failed"), ("folder", "taken-down")]
    assert "SHOPIFY_STORE_URL" in receipts[0].detail
