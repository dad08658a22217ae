"""C2PA round trip: sign as the last write, read back and verify; tampering, source types, CN AIGC metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from .helpers import market, storyboard

from compliance.engine import run_checks
from compliance.provenance import (
    SOURCE_TYPES,
    aigc_problem,
    manifest_source_types,
    read_manifest,
    sign_clip,
    verify_provenance,
)
from productreel.errors import ProvenanceError
from productreel.models import RenderedClip


@pytest.fixture(autouse=True)
def _dev_cert_cache(tmp_path_factory, monkeypatch):
    # The development chain is generated at run time into the cache, never committed.
    monkeypatch.setenv("PRODUCTREEL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("PRODUCTREEL_C2PA_CERT", raising=False)
    monkeypatch.delenv("PRODUCTREEL_C2PA_KEY", raising=False)


def rendered(path: Path, code: str, generated: bool) -> RenderedClip:
    return RenderedClip(job_key="job-abc", product_handle="mug", market=code, kind="ad", format="9:16", video=path,
                        width=270, height=480, duration=2.0, has_generated=generated)


ASSETS = [{"kind": "font", "name": "DejaVuSans-Bold.ttf", "source": "Debian fonts-dejavu", "license": "Bitstream-Vera", "owner": "DejaVu fonts"}]


@pytest.mark.parametrize("generated,want", [(True, "compositeWithTrainedAlgorithmicMedia"), (False, "composite")])
def test_c2pa_round_trip(clip_factory, tmp_path, generated, want):
    photo = tmp_path / "mug.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 50, 50)).save(photo)
    clip = clip_factory()
    assets = ASSETS + [{"kind": "product_photo", "path": str(photo), "source": "catalog.csv:2", "license": "seller-owned", "owner": "ACME"},
                       {"kind": "model", "name": "LTX-Video", "source": "Lightricks", "license": "OpenRAIL-M", "owner": "Lightricks"}]
    sign_clip(rendered(clip, "de", generated), generated=generated, assets=assets)
    store = read_manifest(clip)
    assert store["validation_state"] in ("Valid", "Trusted")
    types = manifest_source_types(store)
    assert types and types[0].endswith("/" + want)
    active = store["manifests"][store["active_manifest"]]
    ingredients = {i.get("title"): i for i in active.get("ingredients", [])}
    assert {"mug.png", "DejaVuSans-Bold.ttf", "LTX-Video"} <= set(ingredients)
    assert ingredients["LTX-Video"]["relationship"] == "inputTo"
    assert ingredients["DejaVuSans-Bold.ttf"]["metadata"]["productreel:license"]["license"] == "Bitstream-Vera"
    labels = [a["label"] for a in active["assertions"]]
    assert "productreel.assets" in labels
    assert verify_provenance(clip, generated=generated) == []
    # Signed last: the clip still plays and passes its spec.
    report, _ = run_checks(clip, market("de"), storyboard=storyboard("de", generated=generated), only={"SPEC-1", "PROV-1", "AI-EU-1"})
    assert [f for f in report.findings if f.severity in ("BLOCK", "FIX")] == []


def test_unsigned_and_tampered_clips_fail_prov1(clip_factory):
    clip = clip_factory()
    (f,) = verify_provenance(clip, generated=True)
    assert f.rule == "PROV-1" and f.severity == "BLOCK" and "no C2PA manifest" in f.message
    sign_clip(rendered(clip, "us", True), generated=True, assets=ASSETS)
    data = bytearray(clip.read_bytes())
    i = data.rfind(b"mdat") + 64  # change one byte of the picture data
    data[i] ^= 0xFF
    clip.write_bytes(bytes(data))
    found = verify_provenance(clip, generated=True)
    assert found and found[0].rule == "PROV-1" and found[0].severity == "BLOCK"


def test_wrong_source_type_fails_for_a_generated_clip(clip_factory):
    clip = clip_factory()
    sign_clip(rendered(clip, "de", False), generated=False, assets=ASSETS)
    assert any("trainedAlgorithmicMedia" in f.message for f in verify_provenance(clip, generated=True))
    report, _ = run_checks(clip, market("de"), storyboard=storyboard("de", generated=True), only={"AI-EU-1"})
    (f,) = report.findings
    assert f.rule == "AI-EU-1" and f.severity == "BLOCK"


def test_cn_clip_gets_aigc_metadata_before_signing(clip_factory):
    clip = clip_factory()
    sign_clip(rendered(clip, "cn", True), generated=True, assets=ASSETS)
    assert verify_provenance(clip, generated=True, market="cn") == []
    report, ctx = run_checks(clip, market("cn"), storyboard=storyboard("cn", generated=True), only={"AI-CN-2", "PROV-1"})
    assert report.findings == []
    assert '"Label":"1"' in next(v for k, v in ctx.info["tags"].items() if "AIGC" in k)


@pytest.mark.parametrize(
    "meta,ok",
    [
        ({"Label": "1", "ContentProducer": "p", "ProduceID": "x", "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}, True),
        ({"Label": "4", "ContentProducer": "p", "ProduceID": "x", "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}, False),
        ({"Label": "1", "ContentProducer": "p"}, False),
        ("not json", False),
        (None, False),
    ],
)
def test_aigc_metadata_table(meta, ok):
    assert (aigc_problem(meta) is None) is ok


def test_signing_failure_is_a_provenance_error_not_a_compliance_block(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(ProvenanceError, match="PROV-1"):
        sign_clip(bad, generated=False, assets=[])


def test_an_ffmpeg_failure_writing_aigc_metadata_is_a_render_error(tmp_path):
    from compliance.provenance import write_aigc_metadata
    from productreel.errors import ComplianceBlock, InputError, RenderError

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(RenderError, match="FFmpeg") as info:
        write_aigc_metadata(bad, {"Label": "1"})
    assert not isinstance(info.value, (InputError, ComplianceBlock))
    assert [p.name for p in tmp_path.iterdir()] == ["bad.mp4"]  # no temporary file left behind


def test_source_types_are_iptc_uris():
    assert SOURCE_TYPES["generated"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
