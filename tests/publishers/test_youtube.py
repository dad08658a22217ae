"""The YouTube publisher against a local emulator of Google's token endpoint and the resumable upload protocol."""

from __future__ import annotations

import json
import logging

import pytest

from .publisher_fakes import YT_ACCESS_TOKEN, YT_CLIENT_SECRET, YT_REFRESH_TOKEN, Crash
from .test_shopify import CrashingLedger
from productreel.errors import InputError, PublishRejected, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, Translation, Variant
import publishers
from publishers.youtube import YouTubePublisher, YouTubeSettings, video_resource

DEST = Destination(name="youtube")


@pytest.fixture
def youtube(yt_env) -> YouTubePublisher:
    """A publisher on the emulator that never really sleeps."""
    return YouTubePublisher(env=yt_env, timeout=5, upload_timeout=5, sleep=lambda s: None)


def the_video(yt) -> dict:
    assert len(yt.videos) == 1, yt.videos
    return next(iter(yt.videos.values()))


def with_sidecar(clip, tmp_path, **meta):
    """The clip with a metadata sidecar holding ``meta``."""
    path = tmp_path / "sidecar.json"
    path.write_text(json.dumps(meta), encoding="utf-8")
    return clip.model_copy(update={"metadata": path})


def test_publish_uploads_one_unlisted_video(youtube, yt, clip, product, ledger, tmp_path):
    receipt = youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    video = the_video(yt)
    assert receipt.status == "published" and receipt.remote_id == video["resource"]["id"]
    assert receipt.url == f"https://www.youtube.com/watch?v={receipt.remote_id}"
    assert video["bytes"] == clip.video.read_bytes()
    assert video["resource"]["status"] == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False,
                                           "containsSyntheticMedia": False, "uploadStatus": "uploaded"}
    steps = ledger.publish_steps("k1", "youtube")
    assert steps["uploaded"] == {"video_id": receipt.remote_id} and "upload_id=" in steps["session"]["uri"]
    calls = len(yt.requests)
    assert youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path).status == "unchanged"
    assert len(yt.requests) == calls


def test_registered_and_reachable_through_publish(yt_env, yt, clip, product, ledger, tmp_path, monkeypatch):
    for name, value in yt_env.items():
        monkeypatch.setenv(name, value)
    assert isinstance(publishers.get_publisher("youtube"), YouTubePublisher)
    receipt = publishers.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and len(yt.videos) == 1


@pytest.mark.parametrize(("flag", "sidecar", "synthetic"), [
    (False, {}, False),
    (True, {}, True),
    (False, {"has_generated": True}, True),
    (False, {"has_generated": False, "inputs": {"generated": []}}, False),
    (False, {"inputs": {"generated": ["shots/0.mp4"]}}, True),
])
def test_contains_synthetic_media_only_for_clips_with_generated_shots(flag, sidecar, synthetic, youtube, yt, clip, product,
                                                                      ledger, tmp_path):
    clip = with_sidecar(clip, tmp_path, **sidecar).model_copy(update={"has_generated": flag})
    receipt = youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert the_video(yt)["resource"]["status"]["containsSyntheticMedia"] is synthetic
    assert f"containsSyntheticMedia={str(synthetic).lower()}" in receipt.detail


def test_upload_interrupted_half_way_resumes_to_one_video(youtube, yt, clip, product, ledger, tmp_path):
    size = clip.video.stat().st_size
    yt.faults.append("cut")
    with pytest.raises(TransientError, match="upload interrupted .*the next attempt resumes this session"):
        youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert yt.videos == {}
    half = size // 2
    assert [len(s["bytes"]) for s in yt.sessions.values()] == [half]
    receipt = youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published"
    assert the_video(yt)["bytes"] == clip.video.read_bytes()
    assert [what for what, _ in yt.requests].count("start") == 1  # one session, never a second video
    puts = [rng for what, rng in yt.requests if what == "put"]
    assert puts == [f"bytes 0-{size - 1}/{size}", f"bytes */{size}", f"bytes {half}-{size - 1}/{size}"]


def test_expired_session_starts_again_without_a_second_video(youtube, yt, clip, product, ledger, tmp_path):
    yt.faults.append("cut")
    with pytest.raises(TransientError):
        youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    yt.faults.append("expire")
    receipt = youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and the_video(yt)["bytes"] == clip.video.read_bytes()


CRASH_POINTS = [("session", "before"), ("session", "after"), ("uploaded", "before"), ("uploaded", "after"),
                ("receipt", "before")]


@pytest.mark.parametrize(("step", "when"), CRASH_POINTS)
def test_crash_between_steps_then_rerun_ends_with_exactly_one_video(step, when, youtube, yt, clip, product, tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with pytest.raises(Crash):
        youtube.publish(clip, product, DEST, ledger=CrashingLedger(url, step, when), out_dir=tmp_path)
    ledger = Ledger(url)
    receipt = youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "published" and receipt.remote_id == the_video(yt)["resource"]["id"]
    assert ledger.receipt("k1", "youtube").remote_id == receipt.remote_id
    calls = len(yt.requests)
    assert youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path).status == "unchanged"
    assert len(yt.requests) == calls


def test_quota_exhaustion_is_one_clear_line_not_retried_and_the_next_run_publishes(youtube, yt, clip, product, ledger, tmp_path):
    yt.faults.append("quota")
    with pytest.raises(PublishRejected) as info:
        youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    message = str(info.value)
    assert message.startswith("youtube videos.insert, product mug, market us: YouTube quota exhausted (HTTP 403 quotaExceeded)")
    assert "next run publishes" in message and "\n" not in message
    assert [what for what, _ in yt.requests].count("start") == 1 and yt.videos == {}
    assert ledger.receipt("k1", "youtube") is None
    receipt = youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)  # tomorrow, the quota reset
    assert receipt.status == "published" and len(yt.videos) == 1


def test_title_description_and_tags_in_the_market_language(clip, tmp_path):
    product = Product(id="1", handle="mug", title="Blue Mug", description="A blue mug.", brand="Acme", category="Kitchen",
                      tags=["mug", "Mug", "coffee cup"], link="https://shop.example.com/products/mug",
                      translations={"de": Translation(title="Blaue Tasse", description="Eine blaue Tasse.")},
                      variants=[Variant(sku="MUG-1")])
    clip = with_sidecar(clip.model_copy(update={"market": "de"}), tmp_path, locale="de-DE", has_generated=True,
                        storyboard={"voiceover": "Die blaue Tasse <neu>.", "metadata": {"ai_label": "KI-generierte Inhalte"},
                                    "scenes": [{"overlays": [{"role": "price", "text": "12 €"},
                                                             {"role": "title", "text": "Blaue Tasse"}]}]})
    body = video_resource(clip, product, privacy="private")
    assert body["snippet"]["title"] == "Blaue Tasse"
    assert body["snippet"]["description"] == "Die blaue Tasse neu.\n\nKI-generierte Inhalte\n\nhttps://shop.example.com/products/mug"
    assert body["snippet"]["tags"] == ["Acme", "Kitchen", "mug", "coffee cup"]
    assert body["snippet"]["defaultLanguage"] == "de-DE"
    assert body["status"] == {"privacyStatus": "private", "selfDeclaredMadeForKids": False, "containsSyntheticMedia": True}
    # without a storyboard: the catalog's translation for the locale's language, else the catalog text
    bare = with_sidecar(clip, tmp_path, locale="de-DE")
    assert video_resource(bare, product)["snippet"]["title"] == "Blaue Tasse"
    assert video_resource(bare, product)["snippet"]["description"].startswith("Eine blaue Tasse.")
    assert video_resource(with_sidecar(clip, tmp_path, locale="fr-FR"), product)["snippet"]["title"] == "Blue Mug"


def test_title_is_cut_to_100_characters(clip, product, tmp_path):
    long = product.model_copy(update={"title": "x" * 150})
    assert len(video_resource(clip, long)["snippet"]["title"]) == 100


def test_privacy_status_is_an_option(youtube, yt, clip, product, ledger, tmp_path):
    youtube.publish(clip, product, Destination(name="youtube", options={"privacy_status": "public"}), ledger=ledger,
                    out_dir=tmp_path)
    assert the_video(yt)["resource"]["status"]["privacyStatus"] == "public"
    with pytest.raises(InputError, match="privacy_status 'secret'"):
        youtube.publish(clip, product, Destination(name="youtube", options={"privacy_status": "secret"}), ledger=ledger,
                        out_dir=tmp_path)


def test_dry_run_makes_no_call(youtube, yt, clip, product, ledger, tmp_path):
    receipt = youtube.publish(clip, product, DEST.model_copy(update={"dry_run": True}), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "dry-run" and yt.requests == []


def test_refused_refresh_token_is_clear_and_never_printed(yt_env, yt, clip, product, ledger, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    pub = YouTubePublisher(env=yt_env | {"YOUTUBE_REFRESH_TOKEN": "1//revoked_but_secret_token"}, sleep=lambda s: None)
    with pytest.raises(PublishRejected, match="invalid_grant") as info:
        pub.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    for secret in ("1//revoked_but_secret_token", YT_CLIENT_SECRET):
        assert secret not in str(info.value) and secret not in caplog.text
    assert YT_CLIENT_SECRET not in repr(YouTubeSettings.resolve(env=yt_env))


def test_no_secret_in_receipts_ledger_or_logs(youtube, yt, clip, product, ledger, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    yt.faults.append("cut")
    with pytest.raises(TransientError) as info:
        youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    stored = ledger.receipt("k1", "youtube").model_dump_json() + json.dumps(ledger.publish_steps("k1", "youtube"))
    for secret in (YT_ACCESS_TOKEN, YT_REFRESH_TOKEN, YT_CLIENT_SECRET):
        assert secret not in stored and secret not in caplog.text and secret not in str(info.value)


def test_settings_from_secret_blocks(yt_env):
    env = {k: v for k, v in yt_env.items() if k not in {"YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN"}}
    blocks = {"youtube-client-secret": YT_CLIENT_SECRET, "youtube-refresh-token": YT_REFRESH_TOKEN}
    publishers.set_secret_source(blocks.get)
    try:
        settings = YouTubeSettings.resolve(env=env)
        assert (settings.client_secret, settings.refresh_token) == (YT_CLIENT_SECRET, YT_REFRESH_TOKEN)
    finally:
        publishers.set_secret_source(None)
    with pytest.raises(InputError, match="YOUTUBE_CLIENT_SECRET, YOUTUBE_REFRESH_TOKEN not set"):
        YouTubeSettings.resolve(env=env)


def test_take_down_deletes_the_products_videos_once(youtube, yt, clip, product, ledger, tmp_path):
    from .test_takedown import rendered

    youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    rendered(ledger)
    yt.scopes.add("https://www.googleapis.com/auth/youtube")
    receipt = youtube.take_down(product, DEST, ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "taken-down" and yt.videos == {}
    assert ledger.receipt("k1", "youtube").status == "taken-down"
    calls = len(yt.requests)
    assert youtube.take_down(product, DEST, ledger=ledger, out_dir=tmp_path).status == "unchanged"
    assert len(yt.requests) == calls


def test_take_down_with_an_upload_only_token_says_which_scope(youtube, yt, clip, product, ledger, tmp_path):
    from .test_takedown import rendered

    youtube.publish(clip, product, DEST, ledger=ledger, out_dir=tmp_path)
    rendered(ledger)
    with pytest.raises(PublishRejected, match="youtube or youtube.force-ssl scope"):
        youtube.take_down(product, DEST, ledger=ledger, out_dir=tmp_path)
    assert len(yt.videos) == 1 and ledger.receipt("k1", "youtube").status == "published"
