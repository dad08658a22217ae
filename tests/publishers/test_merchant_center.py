"""The Merchant Center supplemental video feed."""

from __future__ import annotations

import csv

import pytest

from productreel.models import Destination, Product, PublishReceipt, Variant

import publishers
from publishers.merchant_center import is_public_url, url_problem, video_link_problems

DEST = Destination(name="merchant-center")
# What the video_link rules read from a clip: the test MP4s are tiny, their metadata says a real render.
FEED_READY = {"duration": 15.0, "width": 1080, "height": 1920}


@pytest.fixture
def clip(clip):
    """The tiny clip, described as a 15 s 1080x1920 render."""
    return clip.model_copy(update=FEED_READY)


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
    newer = make_clip(clip_files_v2, "k2", kind="ad").model_copy(update=FEED_READY)
    ledger.record_receipt(shopify_receipt("k2", "https://cdn.shopify.com/videos/new,1.mp4"))
    receipt = publishers.publish(newer, product, dest, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "replaced"
    rows = read_tsv(tmp_path / "published" / "merchant-center" / "us" / "videos.tsv")
    assert rows[1:] == [["MUG-1", "https://cdn.shopify.com/videos/new%2C1.mp4"]]


def test_several_clips_of_a_product_share_one_row(tmp_path, clip_files, make_clip, product, ledger):
    dest = Destination(name="merchant-center", options={"base_url": "https://videos.example.com"})
    publishers.publish(make_clip(clip_files, "a1", kind="ad").model_copy(update=FEED_READY), product, dest, ledger=ledger,
                       out_dir=tmp_path)
    tutorial = make_clip(clip_files, "t1", kind="tutorial", fmt="16:9").model_copy(update={"duration": 60.0, "width": 1280,
                                                                                           "height": 720})
    publishers.publish(tutorial, product, dest, ledger=ledger, out_dir=tmp_path)
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


YT = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
CDN = "https://cdn.shopify.com/videos/c/o/v/abc.mp4"


@pytest.mark.parametrize(("update", "url", "reason"), [
    ({}, CDN, None),
    ({}, YT, None),
    ({"width": 720, "height": 1280}, "https://youtu.be/dQw4w9WgXcQ", None),
    ({"duration": 6.0, "width": 1080, "height": 1080}, "https://www.youtube.com/shorts/dQw4w9WgXcQ", None),
    ({"duration": 240.0, "width": 1920, "height": 1080}, "http://shop.example.com/wp-content/uploads/demo.MOV", None),
    ({"duration": 5.9}, CDN, "duration 5.9 s is outside 6-240 s"),
    ({"duration": 240.5}, CDN, "duration 240.5 s is outside 6-240 s"),
    ({"width": 1080, "height": 1350}, CDN, "aspect ratio 1080x1350 is not 9:16, 16:9, 1:1"),
    ({"width": 540, "height": 960}, CDN, "resolution 540x960 is under 720p"),
    ({"width": 1280, "height": 720}, CDN, None),
    ({"width": 1279, "height": 719}, CDN, "resolution 1279x719 is under 720p"),
    ({}, "https://www.youtube.com/channel/UC123", "URL is neither a YouTube video nor a direct video file"),
    ({}, "https://shop.example.com/products/mug", "URL is neither a YouTube video nor a direct video file"),
    ({}, "https://bucket.s3.amazonaws.com/v.mp4?X-Amz-Expires=3600&X-Amz-Signature=abc", "URL is signed and expires"),
    ({}, "http://127.0.0.1:8000/v.mp4", "URL http://127.0.0.1:8000/v.mp4 is not public"),
    ({}, "https://cdn.example.com/vidéo.mp4", "URL has non-ASCII characters"),
    ({}, "https://cdn.example.com/" + "a" * 2000 + ".mp4", "URL is 2028 characters, over 2000"),
])
def test_video_link_rules(update, url, reason, clip):
    problems = video_link_problems(clip.model_copy(update=update), url)
    if reason is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(reason)
        assert "\n" not in problems[0]


def test_file_over_500_mb_is_refused(clip, tmp_path):
    big = tmp_path / "big.mp4"
    with open(big, "wb") as fh:
        fh.truncate(500 * 1000 * 1000 + 1)  # sparse: no disk used
    problems = video_link_problems(clip.model_copy(update={"video": big}), CDN)
    assert problems == ["file is 500 MB, over 500 MB"]


def test_measures_the_file_when_the_clip_does_not_say(clip):
    bare = clip.model_copy(update={"duration": 0.0, "width": 0, "height": 0})  # read from the 1 s 64x112 MP4
    assert video_link_problems(bare, CDN) == ["duration 1 s is outside 6-240 s", "aspect ratio 64x112 is not 9:16, 16:9, 1:1",
                                              "resolution 64x112 is under 720p"]


def test_every_broken_rule_is_a_line_in_the_receipt_and_no_row_is_written(tmp_path, clip, product, ledger):
    ledger.record_receipt(shopify_receipt("k1", "https://cdn.shopify.com/videos/c/o/v/abc.mp4"))
    short = clip.model_copy(update={"duration": 3.0, "width": 480, "height": 480})
    receipt = publishers.publish(short, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "skipped"
    assert receipt.detail == ("not added to the feed (video_link rules): duration 3 s is outside 6-240 s; "
                              "resolution 480x480 is under 720p")
    assert ledger.receipt("k1", "merchant-center") is None
    assert not (tmp_path / "published" / "merchant-center" / "us" / "videos.tsv").exists()


def test_an_eleventh_link_for_an_item_is_refused(tmp_path, clip_files, make_clip, product, ledger):
    dest = Destination(name="merchant-center", options={"base_url": "https://videos.example.com"})
    for n in range(10):
        # ten slots of one product (the feed's slot is handle/kind/format; the test invents ten formats)
        ten = make_clip(clip_files, f"j{n}").model_copy(update={**FEED_READY, "format": f"9:16-{n}"})
        ledger.record_receipt(shopify_receipt(f"j{n}", f"https://cdn.shopify.com/videos/{n}.mp4"))
        receipt = publishers.publish(ten, product, dest, ledger=ledger, out_dir=tmp_path)
        assert receipt.status == "published", receipt.detail
    eleventh = make_clip(clip_files, "j10").model_copy(update={**FEED_READY, "format": "9:16-x"})
    ledger.record_receipt(shopify_receipt("j10", "https://cdn.shopify.com/videos/10.mp4"))
    receipt = publishers.publish(eleventh, product, dest, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "skipped" and receipt.detail.endswith("item MUG-1 already has 10 video links")
    # a newer clip of a slot already in the feed replaces its link, so it still fits
    newer = make_clip(clip_files, "j0b").model_copy(update={**FEED_READY, "format": "9:16-0"})
    ledger.record_receipt(shopify_receipt("j0b", "https://cdn.shopify.com/videos/0b.mp4"))
    assert publishers.publish(newer, product, dest, ledger=ledger, out_dir=tmp_path).status == "replaced"


def test_youtube_url_is_preferred(tmp_path, clip, product, ledger):
    ledger.record_receipt(shopify_receipt("k1", CDN))
    ledger.record_receipt(PublishReceipt(destination="youtube", job_key="k1", status="published", url=YT, remote_id="dQw4w9WgXcQ"))
    receipt = publishers.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and receipt.url == YT


def test_a_private_youtube_video_is_not_linked(tmp_path, clip, product, ledger):
    ledger.record_receipt(shopify_receipt("k1", CDN))
    ledger.record_receipt(PublishReceipt(destination="youtube", job_key="k1", status="published", url=YT,
                                         detail="private on YouTube; containsSyntheticMedia=false; en-US"))
    assert publishers.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path).url == CDN


@pytest.mark.parametrize(("url", "problem"), [(YT, ""), (CDN, ""), ("https://example.com/watch", "URL is neither")])
def test_url_problem(url, problem):
    assert url_problem(url).startswith(problem) and bool(url_problem(url)) is bool(problem)
