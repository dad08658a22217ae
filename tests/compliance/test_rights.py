"""LIC-1: every asset has a license entry (source, license, owner) allowing commercial use."""

from __future__ import annotations

from pathlib import Path

import pytest
from .helpers import market, storyboard

from compliance.engine import run_checks
from productreel.models import Shot

OK = {"source": "catalog", "license": "seller-owned", "owner": "ACME"}


def lic(clip, assets=None, sb=None):
    report, _ = run_checks(clip, market("us"), only={"LIC-1"}, assets=assets, storyboard=sb)
    return [f for f in report.findings if f.rule == "LIC-1"]


@pytest.mark.parametrize(
    "asset,ok",
    [
        ({"kind": "product_photo", "name": "mug.jpg", **OK}, True),
        ({"kind": "music", "name": "bed.wav", "source": "freesound", "license": "CC0-1.0", "owner": "someone"}, True),
        ({"kind": "music", "name": "hit.mp3", "source": "label", "license": "CC-BY-NC-4.0", "owner": "Label"}, False),
        ({"kind": "logo", "name": "logo.png", "source": "brand kit", "license": "seller-owned"}, False),  # no owner
        ({"kind": "model", "name": "some-model", "source": "hub", "license": "research only", "owner": "Lab"}, False),
        ({"kind": "font", "name": "Brand.otf"}, False),
    ],
)
def test_license_table(clip_factory, asset, ok):
    found = lic(clip_factory(), assets=[asset])
    assert (found == []) is ok
    if not ok:
        assert found[0].severity == "BLOCK" and found[0].evidence["asset"]["name"] == asset["name"]


def test_storyboard_assets_need_entries_unless_a_default_covers_them(clip_factory, tmp_path: Path):
    clip = clip_factory()
    sb = storyboard("us", fonts=[Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"), tmp_path / "Brand.otf"])
    sb.scenes[0].shot = Shot(kind="image", image=tmp_path / "mug.jpg")
    found = lic(clip, sb=sb)
    # The system font and the seller's catalog photo are covered by defaults; the brand font is not.
    assert [f.evidence["asset"]["path"] for f in found] == [str(tmp_path / "Brand.otf")]
    found = lic(clip, sb=sb, assets=[{"kind": "font", "path": str(tmp_path / "Brand.otf"), "source": "foundry", "license": "commercial desktop+video", "owner": "ACME"}])
    assert found == []


def test_generated_shot_needs_a_model_license(clip_factory):
    clip = clip_factory()
    found = lic(clip, sb=storyboard("us", generated=True))
    assert found and found[0].evidence["asset"]["kind"] == "model"
    assert lic(clip, sb=storyboard("us", generated=True), assets=[{"kind": "model", "name": "LTX-Video", "source": "Lightricks", "license": "OpenRAIL-M", "owner": "Lightricks"}]) == []


def test_foreign_clip_without_manifest_is_informational(clip_factory):
    (f,) = lic(clip_factory())
    assert f.severity == "INFO"


def test_asset_manifest_for_signing_lists_storyboard_assets_with_defaults(tmp_path: Path):
    from compliance import asset_manifest

    sb = storyboard("us", fonts=[Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")])
    sb.scenes[0].shot = Shot(kind="image", image=tmp_path / "mug.jpg")
    entries = asset_manifest(sb, assets=[{"kind": "logo", "name": "logo.png", "source": "brand kit", "license": "seller-owned", "owner": "ACME"}])
    kinds = {e["kind"]: e for e in entries}
    assert set(kinds) == {"logo", "product_photo", "font"}
    assert kinds["font"]["license"] == "OFL-1.1" and kinds["product_photo"]["name"] == "mug.jpg"
