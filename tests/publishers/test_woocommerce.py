"""The WooCommerce publisher against a local WordPress media library and WooCommerce REST fake."""

from __future__ import annotations

import pytest
from .publisher_fakes import WC_KEY, WC_SECRET, WP_APP_PASSWORD, Crash

from productreel.errors import PublishRejected
from productreel.ledger import Ledger
from productreel.models import Destination, Product
from publishers.woocommerce import WooClient, WooCommercePublisher, WooSettings


@pytest.fixture
def woo_publisher(woo_env) -> WooCommercePublisher:
    """A publisher on the fake site that never really sleeps."""
    return WooCommercePublisher(client_factory=lambda s: WooClient(s, sleep=lambda _: None, timeout=0.4), env=woo_env)


@pytest.fixture
def woo_product() -> Product:
    """The WooCommerce product 794."""
    return Product(id="794", handle="mug", title="Blue Mug")


DEST = Destination(name="woocommerce")


def test_upload_attaches_video_and_records_url_in_meta(woo_publisher, woo, clip, woo_product, ledger, tmp_path):
    receipt = woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    ours = woo.ours()
    assert len(ours) == 1 and ours[0]["post"] == 794 and ours[0]["bytes"] == clip.video.read_bytes()
    assert receipt.url == ours[0]["source_url"] and receipt.remote_id == str(ours[0]["id"])
    meta = {m["key"]: m["value"] for m in woo.products[794]["meta_data"]}
    assert meta == {"productreel_video_us_ad_9x16": receipt.url}
    assert woo.products[794]["images"] == []
    assert 792 in woo.media  # the merchant's own video


def test_second_run_makes_no_call(woo_publisher, woo, clip, woo_product, ledger, tmp_path):
    woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    calls = len(woo.requests)
    assert woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path).status == "unchanged"
    assert len(woo.requests) == calls


def test_newer_clip_replaces_older_upload_only(woo_publisher, woo, clip, clip_files_v2, make_clip, woo_product, ledger, tmp_path):
    first = woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    newer = woo_publisher.publish(make_clip(clip_files_v2, "k2"), woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    assert newer.status == "replaced"
    assert [m["id"] for m in woo.ours()] == [int(newer.remote_id)]
    assert int(first.remote_id) not in woo.media and 792 in woo.media
    assert {m["key"]: m["value"] for m in woo.products[794]["meta_data"]}["productreel_video_us_ad_9x16"] == newer.url


def test_product_found_by_slug_and_custom_meta_key(woo_env, woo, clip, ledger, tmp_path):
    pub = WooCommercePublisher(client_factory=lambda s: WooClient(s, sleep=lambda _: None),
                               env=woo_env | {"WOOCOMMERCE_VIDEO_META_KEY": "product_video_url"})
    receipt = pub.publish(clip, Product(id="mug", handle="mug", title="Blue Mug"), DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert {m["key"] for m in woo.products[794]["meta_data"]} == {"product_video_url"}


def test_wrong_application_password_is_rejected_and_never_printed(woo_env, woo, clip, woo_product, ledger, tmp_path):
    env = woo_env | {"WOOCOMMERCE_APP_PASSWORD": "wrong pass word secret"}
    pub = WooCommercePublisher(client_factory=lambda s: WooClient(s, sleep=lambda _: None), env=env)
    with pytest.raises(PublishRejected, match="incorrect_password") as info:
        pub.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    assert "wrong pass word secret" not in str(info.value)
    assert woo.ours() == []


def test_consumer_keys_are_used_for_wc_routes_over_https_only(woo_env):
    settings = WooSettings.resolve(env=woo_env | {"WOOCOMMERCE_CONSUMER_KEY": WC_KEY, "WOOCOMMERCE_CONSUMER_SECRET": WC_SECRET,
                                                  "WOOCOMMERCE_URL": "https://shop.example.com"})
    client = WooClient(settings)
    assert client._auth_header("/wc/v3/products") != client._auth_header("/wp/v2/media")
    assert WP_APP_PASSWORD not in repr(settings)


def test_video_in_images_is_refused_by_the_store(woo_env, woo, ledger, tmp_path):
    client = WooClient(WooSettings.resolve(env=woo_env), sleep=lambda _: None)
    with pytest.raises(PublishRejected, match="invalid image ID"):
        client.call("PUT", "/wc/v3/products/794", what="set images", json={"images": [{"id": 792}]})


def test_upload_timeout_finds_the_upload_instead_of_uploading_twice(woo_publisher, woo, clip, woo_product, ledger, tmp_path):
    woo.faults.append(("upload", "timeout"))
    receipt = woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert len(woo.ours()) == 1 and [r for r in woo.writes if r[0] == "POST"] == [("POST", "/wp-json/wp/v2/media")]


def test_502_on_upload_surfaces_as_transient(woo_publisher, woo, clip, woo_product, ledger, tmp_path):
    from productreel.errors import TransientError

    woo.faults.append(("upload", "502"))
    with pytest.raises(TransientError, match="502"):
        woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path)
    assert woo_publisher.publish(clip, woo_product, DEST, ledger=ledger, out_dir=tmp_path).status == "published"
    assert len(woo.ours()) == 1


class CrashingLedger(Ledger):
    """Dies at one step, before or after writing it."""

    def __init__(self, url, step, when):
        super().__init__(url)
        self.step, self.when = step, when

    def record_step(self, job_key, destination, step, data=None):
        if step == self.step and self.when == "before":
            raise Crash(step)
        super().record_step(job_key, destination, step, data)
        if step == self.step and self.when == "after":
            raise Crash(step)

    def record_receipt(self, receipt):
        if self.step == "receipt":
            raise Crash("receipt")
        super().record_receipt(receipt)


@pytest.mark.parametrize(("step", "when"), [(s, w) for s in ("uploaded", "attached", "replaced") for w in ("before", "after")]
                         + [("receipt", "before")])
def test_crash_then_rerun_leaves_exactly_one_upload(step, when, woo_publisher, woo, clip, clip_files_v2, make_clip,
                                                    woo_product, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    woo_publisher.publish(make_clip(clip_files_v2, "k0"), woo_product, DEST, ledger=Ledger(url), out_dir=tmp_path)
    with pytest.raises(Crash):
        woo_publisher.publish(clip, woo_product, DEST, ledger=CrashingLedger(url, step, when), out_dir=tmp_path)
    receipt = woo_publisher.publish(clip, woo_product, DEST, ledger=Ledger(url), out_dir=tmp_path)
    assert receipt.status == "replaced"
    assert [m["id"] for m in woo.ours()] == [int(receipt.remote_id)]
    assert len([w for w in woo.writes if w[0] == "POST"]) == 2  # one upload per job key, ever
