"""The Merchant Center supplemental video feed."""

from __future__ import annotations

import csv

import pytest

from productreel.models import Destination, Product, PublishReceipt, Variant

import publishers
from publishers.merchant_center import is_public_url

DEST = Destination(name="merchant-center")


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter="\t"))


def shopify_receipt(job_key, url):
    return PublishReceipt(destination="shopify", job_key=job_key, status="published", url=url, remote_id="gid://shopify/Video/1")


def test_feed_row_per_variant_from_the_shopify_url(tmp_path, clip, ledger):
    product = Product(id="1001", handle="mug", title="Mug", variants=[Variant(sku="MUG-S"), Variant(sku="MUG-L")])
    ledger.record_receipt(shopify_receipt("k1", "https://cdn.shopify.com/videos/c/o/v/abc.mp4"))
    receipt = publishers.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    rows = read_tsv(tmp_path / "published" / "merchant-center" / "us" / "videos.tsv")
    assert rows == [["id", "video_link"], ["MUG-L", "https://cdn.shopify.com/videos/c/o/v/abc.mp4"],
                    ["MUG-S", "https://cdn.shopify.com/videos/c/o/v/abc.mp4"]]
    assert publishers.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path).status == "unchanged"


def test_clip_without_public_url_is_skipped_not_recorded(tmp_path, clip, product, ledger):
    ledger.record_receipt(PublishReceipt(destination="folder", job_key="k1", status="published", path="/x/ad-9x16.mp4"))
    receipt = publishers.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "skipped" and "public" in receipt.detail
    assert ledger.receipt("k1", "merchant-center") is None
    assert not (tmp_path / "published" / "merchant-center" / "us" / "videos.tsv").exists()


def test_folder_base_url_and_replacement_by_newer_clip(tmp_path, clip, clip_files_v2, make_clip, product, ledger):
    dest = Destination(name="merchant-center", options={"base_url": "https://videos.example.com/p"})
    publishers.publish(clip, product, dest, ledger=ledger, out_dir=tmp_path)
    newer = make_clip(clip_files_v2, "k2", kind="ad")
    ledger.record_receipt(shopify_receipt("k2", "https://cdn.shopify.com/videos/new,1.mp4"))
    receipt = publishers.publish(newer, product, dest, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "replaced"
    rows = read_tsv(tmp_path / "published" / "merchant-center" / "us" / "videos.tsv")
    assert rows[1:] == [["MUG-1", "https://cdn.shopify.com/videos/new%2C1.mp4"]]


def test_several_clips_of_a_product_share_one_row(tmp_path, clip_files, make_clip, product, ledger):
    dest = Destination(name="merchant-center", options={"base_url": "https://videos.example.com"})
    publishers.publish(make_clip(clip_files, "a1", kind="ad"), product, dest, ledger=ledger, out_dir=tmp_path)
    publishers.publish(make_clip(clip_files, "t1", kind="tutorial", fmt="16:9"), product, dest, ledger=ledger, out_dir=tmp_path)
    rows = read_tsv(tmp_path / "published" / "merchant-center" / "us" / "videos.tsv")
    assert rows[1] == ["MUG-1", "https://videos.example.com/us/mug/ad-9x16.mp4,https://videos.example.com/us/mug/tutorial-16x9.mp4"]


@pytest.mark.parametrize(("url", "public"), [
    ("https://cdn.shopify.com/v.mp4", True),
    ("http://shop.example.com/wp-content/uploads/v.mp4", True),
    ("http://127.0.0.1:8000/v.mp4", False),
    ("http://localhost/v.mp4", False),
    ("http://10.0.0.5/v.mp4", False),
    ("file:///srv/v.mp4", False),
    ("/srv/v.mp4", False),
    ("", False),
])
def test_is_public_url(url, public):
    assert is_public_url(url) is public
