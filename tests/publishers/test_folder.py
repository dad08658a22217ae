"""The folder publisher: stable layout, atomic copies, receipts, idempotency and replacement."""

from __future__ import annotations

import json

from productreel.models import Destination

import publishers


def test_publish_copies_clip_sidecars_and_receipt(tmp_path, clip, product, ledger):
    receipt = publishers.publish(clip, product, Destination(), ledger=ledger, out_dir=tmp_path)
    base = tmp_path / "published" / "us" / "mug"
    assert receipt.status == "published"
    assert receipt.path == str(base / "ad-9x16.mp4")
    assert (base / "ad-9x16.mp4").read_bytes() == clip.video.read_bytes()
    assert (base / "ad-9x16.srt").read_text() == clip.srt.read_text()
    assert (base / "ad-9x16.vtt").is_file() and (base / "ad-9x16.jpg").is_file()
    record = json.loads((base / "ad-9x16.receipt.json").read_text())
    assert record["job_key"] == "k1" and record["market"] == "us" and record["format"] == "9:16"
    assert ledger.receipt("k1", "folder").status == "published"
    assert not [p for p in base.iterdir() if p.name.endswith(".tmp")]


def test_second_publish_is_unchanged_and_writes_nothing(tmp_path, clip, product, ledger):
    publishers.publish(clip, product, Destination(), ledger=ledger, out_dir=tmp_path)
    video = tmp_path / "published" / "us" / "mug" / "ad-9x16.mp4"
    before = video.stat().st_mtime_ns
    video.chmod(0o444)
    again = publishers.publish(clip, product, Destination(), ledger=ledger, out_dir=tmp_path)
    assert again.status == "unchanged"
    assert video.stat().st_mtime_ns == before


def test_newer_job_key_replaces_old_file(tmp_path, clip, clip_files_v2, product, ledger, make_clip):
    publishers.publish(clip, product, Destination(), ledger=ledger, out_dir=tmp_path)
    newer = make_clip(clip_files_v2, "k2")
    receipt = publishers.publish(newer, product, Destination(), ledger=ledger, out_dir=tmp_path)
    base = tmp_path / "published" / "us" / "mug"
    assert receipt.status == "replaced"
    assert "k1" in receipt.detail
    assert (base / "ad-9x16.mp4").read_bytes() == clip_files_v2["video"].read_bytes()
    assert json.loads((base / "ad-9x16.receipt.json").read_text())["job_key"] == "k2"


def test_files_already_there_but_ledger_lost_are_adopted(tmp_path, clip, product, ledger):
    from productreel.ledger import Ledger

    publishers.publish(clip, product, Destination(), ledger=ledger, out_dir=tmp_path)
    fresh = Ledger(f"sqlite:///{tmp_path / 'other.sqlite'}")
    receipt = publishers.publish(clip, product, Destination(), ledger=fresh, out_dir=tmp_path)
    assert receipt.status == "unchanged"
    assert fresh.receipt("k1", "folder") is not None


def test_dry_run_writes_nothing(tmp_path, clip, product, ledger):
    receipt = publishers.publish(clip, product, Destination(dry_run=True), ledger=ledger, out_dir=tmp_path)
    assert receipt.status == "dry-run"
    assert not (tmp_path / "published").exists()
    assert ledger.receipt("k1", "folder") is None


def test_fsspec_url_destination(tmp_path, clip, product, ledger):
    target = tmp_path / "bucket"
    dest = Destination(options={"url": f"file://{target}", "base_url": "https://cdn.example.com/v"})
    receipt = publishers.publish(clip, product, dest, ledger=ledger, out_dir=tmp_path / "out")
    assert (target / "us" / "mug" / "ad-9x16.mp4").is_file()
    assert receipt.url == "https://cdn.example.com/v/us/mug/ad-9x16.mp4"


def test_fsspec_memory_store(tmp_path, clip, product, ledger):
    import fsspec

    dest = Destination(options={"url": "memory://pr-test/videos"})
    receipt = publishers.publish(clip, product, dest, ledger=ledger, out_dir=tmp_path)
    fs = fsspec.filesystem("memory")
    assert fs.cat_file("/pr-test/videos/us/mug/ad-9x16.mp4") == clip.video.read_bytes()
    assert receipt.path.startswith("memory://")


def test_unknown_destination_names_known_ones(tmp_path, clip, product, ledger):
    import pytest

    from productreel.errors import InputError

    with pytest.raises(InputError, match="folder"):
        publishers.publish(clip, product, Destination(name="nope"), ledger=ledger, out_dir=tmp_path)


def test_s3_without_s3fs_says_what_to_install(tmp_path, clip, product, ledger):
    import importlib.util

    import pytest

    from productreel.errors import InputError

    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here")
    with pytest.raises(InputError, match="s3fs"):
        publishers.publish(clip, product, Destination(options={"url": "s3://bucket/videos"}), ledger=ledger, out_dir=tmp_path)
