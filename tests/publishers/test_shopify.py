"""The Shopify publisher against a strict local fake of the Admin GraphQL API (files model) and a staged upload bucket."""

from __future__ import annotations

import logging

import pytest

from .publisher_fakes import SHOP_TOKEN, Crash
from productreel.errors import PublishRejected, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product
from publishers.shopify import ShopifyClient, ShopifyPublisher, ShopifySettings

OLD_ALT = "Blue Mug video [productreel us/ad/9:16 k0]"
K1_FILENAME = "productreel_mug_us_ad_9x16_k1.mp4"


class FakeClock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    """The fake clock shared by the publisher and its client."""
    return FakeClock()


@pytest.fixture
def publisher(shop_env, clock) -> ShopifyPublisher:
    """A publisher on the fake store that never really sleeps; HTTP timeouts are short."""
    return ShopifyPublisher(
        client_factory=lambda s: ShopifyClient(s, sleep=clock.sleep, timeout=0.4, upload_timeout=5),
        sleep=clock.sleep, clock=clock, env=shop_env,
    )


def dest(**options) -> Destination:
    """A shopify destination with fast polling."""
    return Destination(name="shopify", options={"poll_interval": 1, "max_wait": 60, **options})


def test_publish_attaches_one_ready_video_and_leaves_merchant_media(publisher, shop, clip, product, ledger, tmp_path):
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    ours = shop.ours()
    assert len(ours) == 1 and ours[0]["status"] == "READY" and ours[0]["id"] == receipt.remote_id
    assert "[productreel us/ad/9:16 k1]" in ours[0]["alt"] and ours[0]["alt"].startswith("Blue Mug")
    assert ours[0]["source"] == clip.video.read_bytes()
    assert receipt.url.startswith("https://cdn.example.com/videos/")
    assert {m["alt"] for m in shop.products["gid://shopify/Product/1001"]["media"]} >= {"merchant photo", "merchant video"}
    assert set(ledger.publish_steps("k1", "shopify")) >= {"staged", "uploaded", "created", "ready", "attached"}
    assert ledger.receipt("k1", "shopify").remote_id == receipt.remote_id
    # the files model: created, polled to READY, then attached; never the deprecated media mutations
    assert shop.ops.index("FileCreate") < shop.ops.index("FileUpdate")
    assert not {"ProductUpdate", "ProductCreateMedia"} & set(shop.ops)
    assert [f["id"] for f in shop.all_ours()] == [receipt.remote_id]
    assert set(shop.served) == {"2026-10"} and "served" not in receipt.detail


def test_second_run_makes_no_call_at_all(publisher, shop, clip, product, ledger, tmp_path):
    publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    calls = len(shop.ops)
    again = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert again.status == "unchanged"
    assert len(shop.ops) == calls


def test_newer_clip_replaces_older_productreel_video_only(publisher, shop, clip, product, ledger, tmp_path):
    old = shop.add_video(OLD_ALT)
    other_slot = shop.add_video("Blue Mug video [productreel de/ad/9:16 k9]")
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "replaced" and old in receipt.detail
    ids = {m["id"] for m in shop.products["gid://shopify/Product/1001"]["media"]}
    assert old not in ids
    assert {other_slot, "gid://shopify/Video/2", "gid://shopify/MediaImage/1", receipt.remote_id} <= ids
    # the delete came only after the new video was READY and attached
    assert shop.ops.index("FileDelete") > max(i for i, op in enumerate(shop.ops) if op in {"MediaNode", "FileUpdate"})
    assert old not in shop.files


def test_both_throttle_styles_are_waited_out(publisher, shop, clip, product, ledger, tmp_path, clock):
    shop.faults += [("StagedUploadsCreate", "429"), ("FileCreate", "throttled"), ("MediaNode", "throttled")]
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert 2.0 in clock.sleeps  # Retry-After
    assert pytest.approx(0.25) in clock.sleeps  # (requested 12 - available 2) / restore 50, plus a 0.05 s margin
    assert len(shop.ours()) == 1
    assert shop.ops.count("FileCreate") == 1  # a throttled call was not carried out, and resent once


def test_502_on_reads_and_upload_is_retried(publisher, shop, clip, product, ledger, tmp_path):
    shop.faults += [("ProductMedia", "502"), ("StagedUploadsCreate", "502")]
    shop.upload_faults.append("502")
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and len(shop.ours()) == 1 and shop.uploads == 1


@pytest.mark.parametrize("fault", ["timeout", "502-after"])
def test_ambiguous_file_create_failure_finds_the_file_instead_of_creating_twice(fault, publisher, shop, clip, product, ledger, tmp_path):
    shop.faults.append(("FileCreate", fault))
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert shop.ops.count("FileCreate") == 1
    assert len(shop.ours()) == 1 and shop.ours()[0]["id"] == receipt.remote_id
    assert len(shop.all_ours()) == 1


def test_processing_failure_is_a_clear_rejection_and_leaves_nothing(publisher, shop, clip, product, ledger, tmp_path):
    shop.fail_processing = "VIDEO_MIN_DURATION_ERROR"
    with pytest.raises(PublishRejected, match="VIDEO_MIN_DURATION_ERROR") as info:
        publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert info.value.product == "mug" and info.value.market == "us"
    assert shop.all_ours() == []
    assert ledger.receipt("k1", "shopify") is None


def test_bounded_wait_then_rerun_resumes_without_uploading_again(publisher, shop, clip, product, ledger, tmp_path):
    shop.polls_to_ready = 1000
    with pytest.raises(TransientError, match="still PROCESSING"):
        publisher.publish(clip, product, dest(max_wait=20), ledger=ledger, out_dir=tmp_path)
    shop.polls_to_ready = 0
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert shop.uploads == 1 and shop.writes.count("FileCreate") == 1 and len(shop.ours()) == 1


def test_old_api_version_attaches_with_product_create_media(shop, shop_env, clock, clip, product, ledger, tmp_path):
    env = shop_env | {"SHOPIFY_API_VERSION": "2024-04"}  # before fileUpdate could reference products
    pub = ShopifyPublisher(client_factory=lambda s: ShopifyClient(s, sleep=clock.sleep), sleep=clock.sleep, clock=clock, env=env)
    receipt = pub.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert "ProductCreateMedia" in shop.ops and not {"ProductUpdate", "FileCreate"} & set(shop.ops)


def test_attach_option_keeps_product_update_media(publisher, shop, clip, product, ledger, tmp_path):
    receipt = publisher.publish(clip, product, dest(attach="productUpdate"), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and len(shop.ours()) == 1
    assert "ProductUpdate" in shop.ops and "FileCreate" not in shop.ops


def test_shopify_serving_another_version_is_said(shop, shop_env, clock, clip, product, ledger, tmp_path, caplog):
    # 2025-01 is no longer served: Shopify answers with the oldest version it serves, HTTP 200, no error.
    shop.versions = {"2025-10", "2026-01", "2026-04", "2026-07", "2026-10"}
    pub = ShopifyPublisher(client_factory=lambda s: ShopifyClient(s, sleep=clock.sleep), sleep=clock.sleep, clock=clock,
                           env=shop_env | {"SHOPIFY_API_VERSION": "2025-01"})
    caplog.set_level(logging.WARNING, logger="publishers.shopify")
    receipt = pub.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and len(shop.all_ours()) == 1
    assert set(shop.served) == {"2025-10"}
    assert "Shopify served Admin API 2025-10, not the 2025-01 asked for" in receipt.detail
    warnings = [r.getMessage() for r in caplog.records if r.name == "publishers.shopify"]
    assert warnings == ["Shopify served Admin API 2025-10, not the 2025-01 asked for (set SHOPIFY_API_VERSION to a version it serves)"]


def test_default_api_version_is_2026_10(shop_env):
    env = {k: v for k, v in shop_env.items() if k != "SHOPIFY_API_VERSION"}
    assert ShopifySettings.resolve(env=env).api_version == "2026-10"


def test_plan_limit_is_one_clear_line_not_retried_and_the_next_run_publishes(publisher, shop, clip, product, ledger, tmp_path, clock):
    shop.video_limit = 1  # the merchant's own video fills the plan
    with pytest.raises(PublishRejected) as info:
        publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("shopify fileCreate, product mug, market us: NON_IMAGE_MEDIA_PER_SHOP_LIMIT_EXCEEDED: "
                              "the store's plan limit on hosted videos and 3D models is reached")
    assert "\n" not in message
    assert shop.ops.count("FileCreate") == 1 and clock.sleeps == []  # no retry loop
    assert shop.all_ours() == [] and ledger.receipt("k1", "shopify") is None
    shop.video_limit = 1000  # the merchant freed room (or upgraded)
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and len(shop.all_ours()) == 1
    assert shop.uploads == 1  # the staged upload of the refused run was reused


def test_product_found_by_handle_when_id_is_not_shopify(publisher, shop, clip, ledger, tmp_path):
    product = Product(id="mug", handle="mug", title="Blue Mug")
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and "ProductByHandle" in shop.ops


def test_missing_product_is_rejected(publisher, shop, clip, ledger, tmp_path):
    with pytest.raises(PublishRejected, match="does not exist"):
        publisher.publish(clip, Product(id="999", handle="nope", title="x"), dest(), ledger=ledger, out_dir=tmp_path)


def test_dry_run_makes_no_call(publisher, shop, clip, product, ledger, tmp_path):
    receipt = publisher.publish(clip, product, dest().model_copy(update={"dry_run": True}), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "dry-run" and shop.ops == []


def test_staged_target_rejects_wrong_field_order_and_wrong_size(shop, shop_env, clip, tmp_path):
    client = ShopifyClient(ShopifySettings.resolve(env=shop_env), sleep=lambda s: None)
    size = clip.video.stat().st_size

    def target():
        data = client.graphql(
            "mutation StagedUploadsCreate($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) "
            "{ stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }",
            {"input": [{"filename": "a.mp4", "mimeType": "video/mp4", "fileSize": str(size), "resource": "VIDEO"}]})
        return data["stagedUploadsCreate"]["stagedTargets"][0]

    swapped = target()
    swapped["parameters"] = list(reversed(swapped["parameters"]))
    with pytest.raises(PublishRejected, match="InvalidPolicyDocument"):
        client.upload_staged(swapped, clip.video)
    bigger = tmp_path / "bigger.mp4"
    bigger.write_bytes(clip.video.read_bytes() + b"\0")
    with pytest.raises(PublishRejected, match="EntityTooLarge"):
        client.upload_staged(target(), bigger)
    client.upload_staged(target(), clip.video)
    assert shop.uploads == 1


def test_bad_token_is_rejected_and_never_printed(shop, shop_env, clock, clip, product, ledger, tmp_path, caplog):
    env = shop_env | {"SHOPIFY_ACCESS_TOKEN": "shpat_wrong_but_secret_999"}
    pub = ShopifyPublisher(client_factory=lambda s: ShopifyClient(s, sleep=clock.sleep), sleep=clock.sleep, clock=clock, env=env)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PublishRejected, match="401") as info:
        pub.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert "shpat_wrong_but_secret_999" not in str(info.value)
    assert "shpat_wrong_but_secret_999" not in caplog.text
    assert "shpat_wrong" not in repr(ShopifySettings.resolve(env=env))


def test_token_is_not_in_receipts_or_ledger(publisher, shop, clip, product, ledger, tmp_path):
    publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert SHOP_TOKEN not in ledger.receipt("k1", "shopify").model_dump_json()
    assert SHOP_TOKEN not in str(ledger.publish_steps("k1", "shopify"))


class CrashingLedger(Ledger):
    """A ledger that dies at one step, either before the step is written or just after."""

    def __init__(self, url: str, step: str, when: str) -> None:
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


CRASH_POINTS = [(step, when) for step in ("staged", "uploaded", "created", "ready", "attached", "replaced")
                for when in ("before", "after")]
CRASH_POINTS.append(("receipt", "before"))


@pytest.mark.parametrize(("step", "when"), CRASH_POINTS)
def test_crash_between_steps_then_rerun_ends_with_exactly_one_video(step, when, publisher, shop, clip, product, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    old = shop.add_video(OLD_ALT)
    with pytest.raises(Crash):
        publisher.publish(clip, product, dest(), ledger=CrashingLedger(url, step, when), out_dir=tmp_path)
    ledger = Ledger(url)
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "replaced"
    ours = shop.ours()
    assert [m["id"] for m in ours] == [receipt.remote_id] and ours[0]["status"] == "READY"
    assert old not in {m["id"] for m in shop.products["gid://shopify/Product/1001"]["media"]}
    assert shop.writes.count("FileCreate") == 1  # never created twice
    assert [f["id"] for f in shop.all_ours()] == [receipt.remote_id]  # no stray file in the store's Files either
    calls = len(shop.ops)
    assert publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path).status == "unchanged"
    assert len(shop.ops) == calls


def test_failed_leftover_of_a_crashed_run_is_cleaned_and_redone(publisher, shop, clip, product, ledger, tmp_path):
    shop.add_video("Blue Mug video [productreel us/ad/9:16 k1]", gid=None, status="FAILED", filename=K1_FILENAME)
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert [m["status"] for m in shop.ours()] == ["READY"]
    assert [f["id"] for f in shop.all_ours()] == [receipt.remote_id]


def test_file_created_by_a_run_that_died_is_adopted_not_duplicated(publisher, shop, clip, product, ledger, tmp_path):
    left = shop.add_video("Blue Mug video [productreel us/ad/9:16 k1]", gid=None, status="PROCESSING", filename=K1_FILENAME)
    shop.files[left]["source"] = clip.video.read_bytes()  # its bytes arrived: it will process to READY
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.remote_id == left and "FileCreate" not in shop.ops
    assert [m["id"] for m in shop.ours()] == [left]


def test_reference_removed_by_hand_is_added_back(publisher, shop, clip, product, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with pytest.raises(Crash):
        publisher.publish(clip, product, dest(), ledger=CrashingLedger(url, "attached", "after"), out_dir=tmp_path)
    media = shop.products["gid://shopify/Product/1001"]["media"]
    shop.products["gid://shopify/Product/1001"]["media"] = [m for m in media if "[productreel" not in m["alt"]]
    receipt = publisher.publish(clip, product, dest(), ledger=Ledger(url), out_dir=tmp_path)
    assert receipt.status == "published" and [m["id"] for m in shop.ours()] == [receipt.remote_id]
    assert shop.uploads == 1 and shop.writes.count("FileCreate") == 1


def test_video_deleted_by_hand_after_attach_is_uploaded_again(publisher, shop, clip, product, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with pytest.raises(Crash):
        publisher.publish(clip, product, dest(), ledger=CrashingLedger(url, "attached", "after"), out_dir=tmp_path)
    for f in shop.all_ours():  # deleted in Content > Files: gone from the store and the product
        shop.op_FileDelete({"fileIds": [f["id"]]}, "2026-10")
    receipt = publisher.publish(clip, product, dest(), ledger=Ledger(url), out_dir=tmp_path)
    assert receipt.status == "published" and len(shop.ours()) == 1 and shop.uploads == 2


def test_token_from_a_registered_secret_source(shop_env):
    import publishers

    env = {k: v for k, v in shop_env.items() if k != "SHOPIFY_ACCESS_TOKEN"}
    publishers.set_secret_source(lambda name: {"shopify-access-token": SHOP_TOKEN}.get(name))
    try:
        assert ShopifySettings.resolve(env=env).access_token == SHOP_TOKEN
    finally:
        publishers.set_secret_source(None)
    with pytest.raises(Exception, match="SHOPIFY_ACCESS_TOKEN"):
        ShopifySettings.resolve(env=env)


def test_timeout_on_a_read_is_retried(publisher, shop, clip, product, ledger, tmp_path, clock):
    shop.faults.append(("ProductMedia", "timeout"))
    receipt = publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and len(shop.ours()) == 1
    assert 1.0 in clock.sleeps  # the first back-off step


def test_timeouts_that_never_end_become_a_transient_error(shop, shop_env, clock, clip, product, ledger, tmp_path):
    shop.faults += [("Files", "timeout")] * 3  # the first read of a publish
    pub = ShopifyPublisher(client_factory=lambda s: ShopifyClient(s, sleep=clock.sleep, timeout=0.3, max_retries=2),
                           sleep=clock.sleep, clock=clock, env=shop_env)
    with pytest.raises(TransientError, match="did not answer in time") as info:
        pub.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert SHOP_TOKEN not in str(info.value)
    assert shop.writes == []


def test_nearly_empty_bucket_is_paced_before_it_throttles(publisher, shop, clip, product, ledger, tmp_path, clock):
    shop.available = 40.0
    publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path)
    assert pytest.approx(1.2) in clock.sleeps  # (100 - 40) / 50 per second


def test_weekly_video_limit_is_a_clear_rejection():
    from publishers.shopify import _raise_user_errors

    with pytest.raises(PublishRejected, match="weekly limit"):
        _raise_user_errors([{"code": "VIDEO_THROTTLE_EXCEEDED", "field": ["media"], "message": "Video creation limit reached"}],
                           "productUpdate")


@pytest.mark.parametrize(("version", "attach", "op", "expected"), [
    ("2026-10", None, "FileUpdate",
     r"^shopify fileUpdate, product mug, market us: PRODUCT_MEDIA_LIMIT_EXCEEDED \(files.0.referencesToAdd\) Product has reached"),
    ("2025-01", "productUpdate", "ProductUpdate",
     r"^shopify productUpdate, product mug, market us: \(media.0\) Product has reached the maximum number of media"),
    ("2024-04", None, "ProductCreateMedia",
     r"^shopify productCreateMedia, product mug, market us: PRODUCT_MEDIA_LIMIT_EXCEEDED \(media\) Product media"),
])
def test_user_errors_become_one_clear_line(version, attach, op, expected, shop, shop_env, clock, clip, product, ledger, tmp_path):
    pub = ShopifyPublisher(client_factory=lambda s: ShopifyClient(s, sleep=clock.sleep), sleep=clock.sleep, clock=clock,
                           env=shop_env | {"SHOPIFY_API_VERSION": version})
    shop.faults.append((op, "media-limit"))
    options = {"attach": attach} if attach else {}
    with pytest.raises(PublishRejected, match=expected) as info:
        pub.publish(clip, product, dest(**options), ledger=ledger, out_dir=tmp_path)
    assert "\n" not in str(info.value)
    assert shop.ours() == [] and shop.all_ours() == []  # a file the product refused is not left in Files


def test_slot_kind_option_replaces_other_formats_of_the_kind(publisher, shop, clip, product, ledger, tmp_path):
    square = shop.add_video("Blue Mug video [productreel us/ad/1:1 k8]")
    tutorial = shop.add_video("Blue Mug how-to video [productreel us/tutorial/16:9 k7]")
    assert publisher.publish(clip, product, dest(), ledger=ledger, out_dir=tmp_path).status == "published"
    assert square in {m["id"] for m in shop.ours()}  # by default formats live side by side
    newer = clip.model_copy(update={"job_key": "k2"})
    receipt = publisher.publish(newer, product, dest(slot="kind"), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "replaced"
    assert {m["id"] for m in shop.ours()} == {receipt.remote_id, tutorial}


def test_parallel_publishes_of_one_product(publisher, shop, clip_files, make_clip, product, ledger, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    clips = [make_clip(clip_files, f"k-{m}", market=m) for m in ("us", "de", "jp", "fr")]
    with ThreadPoolExecutor(4) as pool:
        receipts = list(pool.map(lambda c: publisher.publish(c, product, dest(), ledger=ledger, out_dir=tmp_path), clips))
    assert {r.status for r in receipts} == {"published"}
    assert sorted(m["alt"].split()[-2] for m in shop.ours()) == ["de/ad/9:16", "fr/ad/9:16", "jp/ad/9:16", "us/ad/9:16"]
