"""check_clip end to end on tiny rendered fixtures: OCR-read claims and prices, unreadable files."""

from __future__ import annotations

from pathlib import Path

from .helpers import localized, market

from compliance import check_clip, report_to_json


def rules_of(report, rule_id):
    return [f for f in report.findings if f.rule == rule_id]


def test_cn_clip_with_absolute_claim_on_screen_is_blocked(clip_factory):
    clip = clip_factory(texts=[("全网销量第一", (20, 200), 30, "white", 0, 2), ("¥49.90", (20, 260), 30, "white", 0, 2)])
    report = check_clip(clip, market("cn"), lp=localized("cn", "¥49.90"))
    hits = [f for f in rules_of(report, "CL-CN-1") if f.severity == "BLOCK"]
    assert hits and hits[0].evidence["input"] == "ocr"
    assert "全网销量第一" in hits[0].evidence["text"]
    assert not report.passed
    assert not [f for f in rules_of(report, "PRICE-1") if f.severity == "BLOCK"]


def test_wrong_price_on_screen_is_caught_by_ocr(clip_factory):
    clip = clip_factory(texts=[("$39.99", (40, 220), 34, "white", 0, 2)])
    report = check_clip(clip, market("us"), lp=localized("us", "$49.99"))
    price = rules_of(report, "PRICE-1")
    assert any("39.99" in f.evidence.get("text", "") for f in price)
    assert any("not read" in f.message for f in price)
    assert not report.passed


def test_right_price_passes_price_check(clip_factory):
    clip = clip_factory(texts=[("49,99 €", (40, 220), 34, "white", 0, 2)])
    report = check_clip(clip, market("de"), lp=localized("de", "49,99 €"))
    assert rules_of(report, "PRICE-1") == []


def test_corrupt_file_is_a_spec_finding_not_a_crash(tmp_path: Path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    report = check_clip(bad, market("us"), script_text="Made in USA")
    spec = rules_of(report, "SPEC-1")
    assert spec and spec[0].severity == "BLOCK" and "unreadable" in spec[0].message
    # Text rules still run on the script.
    assert rules_of(report, "CL-US-1")
    assert report_to_json(report)["passed"] is False


def test_report_is_written_beside_a_rendered_clip(clip_factory):
    import json

    from productreel.models import RenderedClip

    path = clip_factory(texts=[("$49.99", (40, 220), 34, "white", 0, 2)])
    clip = RenderedClip(job_key="k", product_handle="mug", market="us", kind="ad", format="9:16", video=path)
    report = check_clip(clip, market("us"), lp=localized("us", "$49.99"))
    data = json.loads(path.with_name("clip.compliance.json").read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(report_to_json(report), default=str))
